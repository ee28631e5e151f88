#include "protocol/change.hpp"

namespace fieldsync::protocol {

std::string_view to_string(change_op op) noexcept {
  switch (op) {
    case change_op::insert: return "insert";
    case change_op::update: return "update";
    case change_op::remove: return "delete";
    case change_op::truncate: return "truncate";
  }
  return "unknown";
}

}  // namespace fieldsync::protocol
