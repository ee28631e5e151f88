#include "conflicts/strategies/reject_strategy.hpp"

#include "conflicts/merge_errc.hpp"

namespace fieldsync::conflicts {

boost::system::result<boost::json::value> reject_strategy::resolve(const field_context&) const {
  return merge_errc::conflict;
}

}  // namespace fieldsync::conflicts
