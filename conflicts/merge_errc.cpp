#include "conflicts/merge_errc.hpp"

#include <string>

namespace fieldsync::conflicts {

namespace {

class merge_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.merge"; }
  std::string message(int ev) const override {
    switch (static_cast<merge_errc>(ev)) {
      case merge_errc::conflict:
        return "both sides changed the field and its policy rejects";
      case merge_errc::row_deleted:
        return "the row was deleted since the client's base version";
      case merge_errc::row_changed:
        return "the row was changed since the client's base version";
      case merge_errc::row_exists:
        return "a row with this key exists";
      case merge_errc::not_mergeable:
        return "the values do not fit the field's merge policy";
      case merge_errc::out_of_range:
        return "the merged value is out of range";
      case merge_errc::unknown_strategy:
        return "unknown merge strategy";
    }
    return "unknown merge error";
  }
};

}  // namespace

const boost::system::error_category& merge_category() noexcept {
  static const merge_category_impl instance;
  return instance;
}

std::string_view reason_code(merge_errc e) noexcept {
  switch (e) {
    case merge_errc::conflict:
      return "conflict";
    case merge_errc::row_deleted:
      return "row_deleted";
    case merge_errc::row_changed:
      return "row_changed";
    case merge_errc::row_exists:
      return "row_exists";
    case merge_errc::not_mergeable:
      return "not_mergeable";
    case merge_errc::out_of_range:
      return "out_of_range";
    case merge_errc::unknown_strategy:
      return "unknown_strategy";
  }
  return "unknown";
}

}  // namespace fieldsync::conflicts
