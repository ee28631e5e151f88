#pragma once
// server-wins: the current value stays; the client's concurrent change is dropped (the
// client learns it from the merged row).

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class server_wins_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "server-wins"; }
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
