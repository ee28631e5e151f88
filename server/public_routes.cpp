#include "server/app.hpp"
#include "server/digest_routes.hpp"
#include "server/mutation_routes.hpp"
#include "server/pull_routes.hpp"
#include "server/routes.hpp"
#include "server/version.hpp"

namespace fieldsync::server {

void add_public_routes(router& r, app& a) {
  auto pulls = add_pull_routes(r, a);
  add_shape_routes(r, pulls);
  add_digest_route(r, pulls);
  add_mutation_routes(r, a);
  // Liveness for load balancers: answers while the process serves, without touching the
  // database (a database outage must not take every node out of the balancer at once).
  r.add(http::verb::get, "/healthz", [](request_context& ctx) -> boost::asio::awaitable<http_response> {
    co_return json_response(ctx.request, http::status::ok,
                            {{"status", "ok"}, {"version", version()}});
  });
}

}  // namespace fieldsync::server
