#include "server/admin/admin_services.hpp"

namespace fieldsync::server {

// GET /metrics on the admin listener: Prometheus text. Like /healthz and /readyz it needs
// no token (scrapers are configured per listener; keep the admin listener private).
void add_metrics_route(router& r, std::shared_ptr<const admin_services> s) {
  r.add(http::verb::get, "/metrics",
        [s](request_context& ctx) -> boost::asio::awaitable<http_response> {
          http_response res{http::status::ok, ctx.request.version()};
          res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
          res.set(http::field::cache_control, "no-store");
          res.keep_alive(ctx.request.keep_alive());
          res.body() = s->metrics.render();
          res.prepare_payload();
          co_return res;
        });
}

}  // namespace fieldsync::server
