#pragma once
// set-union: arrays as sets. The result is the server's elements minus those the client
// removed (in the base, not in the client's value), then the client's additions (in the
// client's value, not in the base) that are not there yet: server order first, then the
// additions in the client's order, each element once. A server-side removal stands. null and
// an absent base are the empty set. Two arrays with the same elements are the same() in any
// order, so merges commute as sets (the order may differ with arrival order). A value the
// frame takes whole (the server had not changed the field) is stored as the client sent it.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class set_union_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "set-union"; }
  bool commutative() const noexcept override { return true; }
  bool accepts(const protocol::column_type& type) const noexcept override;
  bool same(const boost::json::value& a, const boost::json::value& b,
            const protocol::column_type& type) const override;
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
