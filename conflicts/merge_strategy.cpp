#include "conflicts/merge_strategy.hpp"

#include "conflicts/canonical_value.hpp"

namespace fieldsync::conflicts {

bool merge_strategy::accepts(const protocol::column_type&) const noexcept {
  return true;
}

bool merge_strategy::same(const boost::json::value& a, const boost::json::value& b,
                          const protocol::column_type& type) const {
  return same_value(a, b, type);
}

}  // namespace fieldsync::conflicts
