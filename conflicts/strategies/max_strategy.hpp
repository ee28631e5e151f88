#pragma once
// max: the larger number wins ("highest stage reached", a best score). Numbers and decimal
// strings compare by exact value; null loses to any number; equal values keep the server's
// spelling. Not a monotonic register: a lone client may still lower the value, as the frame
// takes any change the server did not contest.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class max_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "max"; }
  bool commutative() const noexcept override { return true; }
  bool accepts(const protocol::column_type& type) const noexcept override;
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
