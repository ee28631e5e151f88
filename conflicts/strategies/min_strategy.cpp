#include "conflicts/strategies/min_strategy.hpp"

#include "conflicts/merge_errc.hpp"
#include "conflicts/strategies/numeric_operand.hpp"

namespace fieldsync::conflicts {

bool min_strategy::accepts(const protocol::column_type& type) const noexcept {
  using protocol::type_class;
  return type.cls == type_class::integer || type.cls == type_class::numeric ||
         type.cls == type_class::floating || type.cls == type_class::other;
}

boost::system::result<boost::json::value> min_strategy::resolve(const field_context& c) const {
  // Both null would have been the same value; a lone null loses to any number.
  if (c.client->is_null()) return *c.server;
  if (c.server->is_null()) return *c.client;
  auto client = read_number(*c.client);
  auto server = read_number(*c.server);
  if (!client || !server) return merge_errc::not_mergeable;
  // On equal values the server's spelling stays: no write for a difference of form only.
  return compare(client->value, server->value) < 0 ? *c.client : *c.server;
}

}  // namespace fieldsync::conflicts
