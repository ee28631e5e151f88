#include "server/app/app.hpp"
#include "server/app/routes.hpp"

namespace fieldsync::server {

// GET /metrics on the admin listener: Prometheus text. Like /healthz and /readyz it needs
// no token (scrapers are configured per listener; keep the admin listener private).
void add_metrics_route(router& r, app& a) {
  r.add(http::verb::get, "/metrics",
        [&a](request_context& ctx) -> boost::asio::awaitable<http_response> {
          http_response res{http::status::ok, ctx.request.version()};
          res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
          res.set(http::field::cache_control, "no-store");
          res.keep_alive(ctx.request.keep_alive());
          res.body() = a.metrics().render();
          res.prepare_payload();
          co_return res;
        });
}

}  // namespace fieldsync::server
