#pragma once
// reject: the mutation is rejected (merge_errc::conflict) and the conflict goes back to the
// client with the current row, for a person to resolve. For fields where a silent choice
// would lose someone's text: visit notes, next steps.

#include "conflicts/merge_strategy.hpp"

namespace fieldsync::conflicts {

class reject_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "reject"; }
  boost::system::result<boost::json::value> resolve(const field_context& c) const override;
};

}  // namespace fieldsync::conflicts
