#pragma once
// counter: numeric deltas add up. The result is server + (client - base), in exact decimal
// arithmetic, so concurrent increments from several devices all count. null and an absent base
// count as 0. Integers stay integers (beyond int64/uint64: out_of_range); decimal strings add
// exactly ("0.10" + ("0.20" - "0.00") = "0.30", scale the largest of the operands).
// Two equal changes are two changes (5 -> 6 on two devices makes 7), so the frame's
// agreement rule does not apply. Not idempotent: the same mutation merged twice counts
// twice, which is why mutation ids make delivery exactly-once.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class counter_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "counter"; }
  bool commutative() const noexcept override { return true; }
  bool accumulates() const noexcept override { return true; }
  bool accepts(const protocol::column_type& type) const noexcept override;
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
