#include "server/app.hpp"
#include "server/logging.hpp"
#include "server/routes.hpp"
#include "server/version.hpp"

#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Compares in time independent of where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

// nullopt when the request carries the admin bearer token; otherwise the answer to give.
std::optional<http_response> check_admin(const request_context& ctx, const app& a) {
  const auto& token = a.cfg().server.admin_token;
  if (token.empty()) {
    return error_response(ctx.request, http::status::forbidden, "admin_disabled",
                          "set server.admin_token to use the admin API");
  }
  std::string_view auth = ctx.request[http::field::authorization];
  constexpr std::string_view prefix = "Bearer ";
  if (!auth.starts_with(prefix) || !same_secret(auth.substr(prefix.size()), token)) {
    auto res = error_response(ctx.request, http::status::unauthorized, "unauthorized",
                              "the admin API needs Authorization: Bearer <admin token>");
    res.set(http::field::www_authenticate, "Bearer realm=\"fieldsync-admin\"");
    return res;
  }
  return std::nullopt;
}

}  // namespace

void add_admin_routes(router& r, app& a) {
  r.add(http::verb::get, "/healthz", [](request_context& ctx) -> asio::awaitable<http_response> {
    co_return json_response(ctx.request, http::status::ok,
                            {{"status", "ok"}, {"version", version()}});
  });

  // Readiness: this node can serve, which needs its database.
  r.add(http::verb::get, "/readyz", [&a](request_context& ctx) -> asio::awaitable<http_response> {
    auto res = co_await a.pool().async_query("SELECT 1");
    if (!res) {
      auto out = error_response(ctx.request, http::status::service_unavailable,
                                "database_unavailable", res.error().to_string());
      out.set(http::field::retry_after, "5");
      co_return out;
    }
    co_return json_response(ctx.request, http::status::ok, {{"status", "ready"}});
  });

  r.add(http::verb::get, "/admin/v1/status", [&a](request_context& ctx) -> asio::awaitable<http_response> {
    if (auto denied = check_admin(ctx, a)) co_return std::move(*denied);
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now() - a.started_at());
    json::object body{
        {"version", version()},
        {"uptime_seconds", uptime.count()},
        {"connections",
         {{"http", a.connections().count("http")},
          {"websocket", a.connections().count("websocket")}}},
        {"database_pool",
         {{"open", a.pool().open_connections()},
          {"idle", a.pool().idle_connections()},
          {"waiters", a.pool().waiters()}}},
    };
    co_return json_response(ctx.request, http::status::ok, body);
  });

  r.add(http::verb::put, "/admin/v1/log-level", [&a](request_context& ctx) -> asio::awaitable<http_response> {
    if (auto denied = check_admin(ctx, a)) co_return std::move(*denied);
    boost::system::error_code ec;
    auto body = json::parse(ctx.request.body(), ec);
    const json::value* level = (!ec && body.is_object()) ? body.as_object().if_contains("level") : nullptr;
    if (!level || !level->is_string() || !set_log_level(std::string_view(level->get_string()))) {
      co_return error_response(ctx.request, http::status::bad_request, "bad_level",
                               "expected {\"level\": \"trace|debug|info|warn|error|critical|off\"}");
    }
    spdlog::info("log level set to {}", std::string_view(level->get_string()));
    co_return json_response(ctx.request, http::status::ok, {{"level", *level}});
  });
}

}  // namespace fieldsync::server
