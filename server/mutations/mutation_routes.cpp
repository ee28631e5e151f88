#include "server/mutations/mutation_routes.hpp"

#include "protocol/json_parse.hpp"
#include "server/access/unauthorized.hpp"
#include "server/net/http_types.hpp"
#include "server/net/query_string.hpp"

#include <charconv>
#include <chrono>
#include <limits>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

http::status status_of(refusal_kind kind) {
  switch (kind) {
    case refusal_kind::bad_request: return http::status::bad_request;
    case refusal_kind::forbidden: return http::status::forbidden;
    case refusal_kind::gap: return http::status::conflict;
    case refusal_kind::unavailable: return http::status::service_unavailable;
    case refusal_kind::internal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

http_response reply_response(const http_request& req, const mutation_reply& reply) {
  if (!reply.refusal) return json_response(req, http::status::ok, reply.body);
  const auto status = status_of(reply.refusal->kind);
  auto res = json_response(req, status, json::object{{"error", error_object(*reply.refusal)}});
  // Every refusal of this kind is passing (a lock, a busy or restarting database).
  if (status == http::status::service_unavailable) res.set(http::field::retry_after, "1");
  return res;
}

http_response starting(const http_request& req) {
  return error_response(req, http::status::service_unavailable, "starting", "the server is starting");
}

// The decoded value of one query parameter; empty when absent.
std::string param_value(const query_params& params, std::string_view name) {
  const std::string* value = find_param(params, name);
  return value ? *value : std::string();
}

std::optional<std::int64_t> param_number(const query_params& params, std::string_view name,
                                         std::int64_t fallback, std::int64_t min,
                                         std::int64_t max) {
  auto text = param_value(params, name);
  if (text.empty()) return fallback;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max) return std::nullopt;
  return v;
}

}  // namespace

void add_mutation_routes(router& r, const authenticator& auth, mutation_service_source mutations) {
  r.add(http::verb::post, "/v1/mutations",
        [&auth, mutations = std::move(mutations)](request_context& ctx) -> asio::awaitable<http_response> {
          auto who = auth.verify_header(ctx.request[http::field::authorization], std::chrono::system_clock::now());
          if (!who) co_return unauthorized_response(ctx.request, who.error());
          auto body = protocol::parse_json_exact(ctx.request.body(), 64);
          if (!body) {
            co_return error_response(ctx.request, http::status::bad_request, "bad_request",
                                     "the body is not JSON: " + body.error().message());
          }
          auto service = mutations();
          if (!service) co_return starting(ctx.request);
          auto reply = co_await service->async_apply(*who, *body);
          co_return reply_response(ctx.request, reply);
        });
}

asio::awaitable<http_response> list_conflicts(request_context& ctx, mutation_service_source mutations) {
  // Parsed once; a malformed %-escape is the client's error, not an empty filter.
  const auto params = parse_query(ctx.query);
  if (!params) {
    co_return error_response(
        ctx.request, http::status::bad_request, "bad_request",
        "the query string has a malformed %-escape or a value that is not UTF-8 text");
  }
  auto limit = param_number(*params, "limit", 100, 1, 1000);
  auto before = param_number(*params, "before", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (!limit || !before) {
    co_return error_response(ctx.request, http::status::bad_request, "bad_request",
                             "limit is 1 to 1000 and before a conflict id");
  }
  auto service = mutations();
  if (!service) co_return starting(ctx.request);
  auto reply = co_await service->async_list_conflicts(
      *before, *limit, param_value(*params, "collection"), param_value(*params, "client_id"));
  co_return reply_response(ctx.request, reply);
}

}  // namespace fieldsync::server
