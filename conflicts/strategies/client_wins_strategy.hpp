#pragma once
// client-wins: the arriving mutation's value replaces the current one, whoever wrote it
// later. The result depends on arrival order.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class client_wins_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "client-wins"; }
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
