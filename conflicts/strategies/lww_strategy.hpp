#pragma once
// lww: last writer wins by hybrid logical clock. The later of the client's clock and the
// server value's last-writer clock wins; an absent clock is earlier than any. Equal clocks
// (the same writer twice, or two writers without clocks) fall back to the client ids, then to
// the canonical order of the values, so every node picks the same side in either order.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class lww_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "lww"; }
  bool commutative() const noexcept override { return true; }
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
