#include "conflicts/strategies/client_wins_strategy.hpp"

namespace fieldsync::conflicts {

boost::system::result<boost::json::value> client_wins_strategy::resolve(
    const field_context& c) const {
  return *c.client;
}

}  // namespace fieldsync::conflicts
