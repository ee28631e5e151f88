#include "conflicts/strategies/server_wins_strategy.hpp"

namespace fieldsync::conflicts {

boost::system::result<boost::json::value> server_wins_strategy::resolve(
    const field_context& c) const {
  return *c.server;
}

}  // namespace fieldsync::conflicts
