#include "conflicts/strategies/lww_strategy.hpp"

#include "conflicts/canonical_value.hpp"

namespace fieldsync::conflicts {

boost::system::result<boost::json::value> lww_strategy::resolve(const field_context& c) const {
  // std::optional orders nullopt first: an unknown clock loses to any known one.
  auto order = c.client_writer->clock <=> c.server_writer->clock;
  if (order == 0) order = c.client_writer->client_id.compare(c.server_writer->client_id) <=> 0;
  // Same clock and writer but different values: only a replayed or forged mutation gets
  // here. Any fixed choice keeps the merge deterministic; the canonical order is symmetric.
  if (order == 0) order = compare_values(*c.client, *c.server, c.type);
  return order > 0 ? *c.client : *c.server;
}

}  // namespace fieldsync::conflicts
