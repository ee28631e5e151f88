#include "server/app/app.hpp"
#include "server/pull/digest_routes.hpp"
#include "server/mutations/mutation_routes.hpp"
#include "server/pull/pull_routes.hpp"
#include "server/app/routes.hpp"
#include "server/net/static_files.hpp"
#include "server/core/version.hpp"

#include <spdlog/spdlog.h>

namespace fieldsync::server {

void add_public_routes(router& r, app& a) {
  auto pulls = add_pull_routes(r, a);
  add_shape_routes(r, pulls);
  add_digest_route(r, pulls);
  add_mutation_routes(r, a.auth(), [&a]() -> std::shared_ptr<mutation_service> {
    auto* m = a.mutations();
    return m ? m->shared_from_this() : nullptr;
  });
  // Liveness for load balancers: answers while the process serves, without touching the
  // database (a database outage must not take every node out of the balancer at once).
  r.add(http::verb::get, "/healthz", [](request_context& ctx) -> boost::asio::awaitable<http_response> {
    co_return json_response(ctx.request, http::status::ok,
                            {{"status", "ok"}, {"version", version()}});
  });
  // The PWA (server.static_dir) at /, for GET and HEAD of what no endpoint above answers.
  // Paths under /v1/ stay the API's: a missing endpoint there is never a file.
  if (!a.cfg().server.static_dir.empty()) {
    std::shared_ptr<const static_files> files;
    try {
      files = std::make_shared<const static_files>(a.cfg().server.static_dir);
    } catch (const std::runtime_error& e) {
      throw startup_error(e.what());
    }
    spdlog::info("serving static files from {}", files->root().string());
    r.set_fallback([files](request_context& ctx) -> boost::asio::awaitable<http_response> {
      if (ctx.path.starts_with("/v1/") || ctx.path == "/v1") {
        co_return error_response(ctx.request, http::status::not_found, "not_found",
                                 "no such endpoint: " + std::string(ctx.path));
      }
      co_return files->serve(ctx.request, ctx.path);
    });
  }
}

}  // namespace fieldsync::server
