#pragma once
// min: the smaller number wins (an earliest-needed quantity, a lowest price quoted). The
// mirror image of max, with the same rules.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class min_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "min"; }
  bool commutative() const noexcept override { return true; }
  bool accepts(const protocol::column_type& type) const noexcept override;
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
