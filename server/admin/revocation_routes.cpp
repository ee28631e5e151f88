#include "server/admin/revocation_routes.hpp"

#include "protocol/json_parse.hpp"
#include "protocol/pg_text.hpp"
#include "server/access/token_time.hpp"
#include "server/core/time_text.hpp"
#include "server/live/sync_session.hpp"
#include "server/net/query_string.hpp"
#include "server/net/ws_close_codes.hpp"
#include "server/net/ws_session.hpp"
#include "storage/sqlstate.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/value_from.hpp>

#include <variant>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Subjects and token ids are names, not documents.
constexpr std::size_t max_value_bytes = 1024;

http_response bad_revocation(const http_request& req, std::string message) {
  return error_response(req, http::status::bad_request, "bad_revocation", std::move(message));
}

http_response storage_failure(const http_request& req, const storage::pg_error& e) {
  if (e.sqlstate == storage::sqlstate::undefined_table) {
    auto res =
        error_response(req, http::status::service_unavailable, "not_ready",
                       "the storage schema is not there yet (the ingest creates it): try again");
    res.set(http::field::retry_after, "5");
    return res;
  }
  spdlog::warn("admin: revocations: {}", e.to_string());
  auto res =
      error_response(req, http::status::service_unavailable, "database_unavailable", e.to_string());
  res.set(http::field::retry_after, "5");
  return res;
}

json::object revocation_json(const revocation& r) {
  return json::object{{"kind", to_string(r.kind)},
                      {"value", r.value},
                      {"revoked_at", iso_time(r.revoked_at)},
                      {"until", r.until ? json::value(iso_time(*r.until)) : json::value(nullptr)}};
}

struct revocation_request {
  revocation_kind kind = revocation_kind::subject;
  std::string value;
  revocation_until until;
};

// The body of a POST, or the message of its 400.
std::variant<revocation_request, std::string> parse_request(std::string_view body) {
  auto parsed = protocol::parse_json_exact(body, 4);
  if (!parsed || !parsed->is_object()) {
    return std::string(
        "expected {\"sub\": \"...\"} or {\"jti\": \"...\"}, with an optional \"until\"");
  }
  const auto& o = parsed->as_object();
  revocation_request out;
  int names = 0;
  for (const auto& [key, v] : o) {
    if (key == "sub" || key == "jti") {
      ++names;
      // No NUL: libpq would send the text up to it, and revoke another value.
      if (!v.is_string() || v.get_string().empty() || v.get_string().size() > max_value_bytes ||
          !protocol::is_pg_text(v.get_string())) {
        return std::string(key) + " is a non-empty string of at most 1024 bytes, without NUL";
      }
      out.kind = key == "sub" ? revocation_kind::subject : revocation_kind::token_id;
      out.value = std::string(v.get_string());
    } else if (key == "until") {
      if (v.is_null()) continue;
      if (v.is_string()) {
        if (!protocol::is_pg_text(v.get_string()))
          return std::string("until is an RFC 3339 time or whole seconds since 1970 (before 2200)");
        out.until.text = std::string(v.get_string());
        continue;
      }
      // A NumericDate, as a token's exp: whole seconds in the range tokens are read in.
      const bool whole = v.is_int64() || v.is_uint64();
      auto seconds = numeric_date_seconds(v);
      if (!whole || !seconds || *seconds <= 0 || *seconds >= numeric_date_limit) {
        return std::string("until is an RFC 3339 time or whole seconds since 1970 (before 2200)");
      }
      out.until.seconds = *seconds;
    } else {
      return "unknown field \"" + std::string(key) + "\"";
    }
  }
  if (names != 1) return std::string("name exactly one of \"sub\" or \"jti\"");
  return out;
}

asio::awaitable<http_response> post_revocation(request_context& ctx,
                                               std::shared_ptr<const admin_services> s,
                                               std::shared_ptr<revocation_store> store,
                                               const authenticator& auth) {
  if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
  auto parsed = parse_request(ctx.request.body());
  if (auto* message = std::get_if<std::string>(&parsed)) {
    co_return bad_revocation(ctx.request, std::move(*message));
  }
  auto req = std::get<revocation_request>(std::move(parsed));
  if (store->list().size() >= max_revocations) {
    co_return error_response(
        ctx.request, http::status::conflict, "too_many_revocations",
        "the deny list is full (100000 entries): lift some, or let them lapse");
  }
  auto stored = co_await store->async_put(req.kind, req.value, std::move(req.until));
  if (!stored) {
    const auto& state = stored.error().sqlstate;
    if (state.starts_with("22") || state == "23514") {
      co_return bad_revocation(
          ctx.request, "until is not a time between 1970 and 2200: " + stored.error().message);
    }
    co_return storage_failure(ctx.request, stored.error());
  }
  spdlog::info("admin: revoked {} {}", to_string(stored->kind), stored->value);
  auto closed = close_revoked_sessions(s->connections, auth);
  auto body = revocation_json(*stored);
  body["disconnected"] = json::value_from(closed);
  co_return json_response(ctx.request, http::status::created, body);
}

asio::awaitable<http_response> list_revocations(request_context& ctx,
                                                std::shared_ptr<const admin_services> s,
                                                std::shared_ptr<revocation_store> store) {
  if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
  // Reread first: the answer is the stored list, not a copy that may lag by one refresh.
  auto fresh = co_await store->async_refresh();
  if (!fresh) {
    co_return storage_failure(ctx.request, fresh.error());
  }
  json::array out;
  for (const auto& r : store->list().entries()) out.push_back(revocation_json(r));
  co_return json_response(ctx.request, http::status::ok, {{"revocations", std::move(out)}});
}

asio::awaitable<http_response> lift_revocation(request_context& ctx,
                                               std::shared_ptr<const admin_services> s,
                                               std::shared_ptr<revocation_store> store) {
  if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
  auto params = parse_query(ctx.query);
  const std::string* sub = params ? find_param(*params, "sub") : nullptr;
  const std::string* jti = params ? find_param(*params, "jti") : nullptr;
  if ((sub == nullptr) == (jti == nullptr) || (sub ? sub : jti)->empty()) {
    co_return bad_revocation(ctx.request, "name the revocation to lift: ?sub= or ?jti=");
  }
  auto kind = sub ? revocation_kind::subject : revocation_kind::token_id;
  const std::string value = sub ? *sub : *jti;
  auto lifted = co_await store->async_lift(kind, value);
  if (!lifted) co_return storage_failure(ctx.request, lifted.error());
  if (!*lifted) {
    co_return error_response(ctx.request, http::status::not_found, "not_found",
                             "no revocation of this " + std::string(to_string(kind)));
  }
  spdlog::info("admin: lifted the revocation of {} {}", to_string(kind), value);
  co_return json_response(ctx.request, http::status::ok,
                          {{"lifted", json::object{{"kind", to_string(kind)}, {"value", value}}}});
}

}  // namespace

std::vector<std::uint64_t> close_revoked_sessions(const connection_registry& connections,
                                                  const authenticator& auth) {
  std::vector<std::uint64_t> closed;
  const auto now = std::chrono::system_clock::now();
  std::uint64_t after = 0;
  for (;;) {
    auto page = connections.list("websocket", after, 256);
    if (page.empty()) break;
    for (auto& [id, c] : page) {
      after = id;
      auto session = std::static_pointer_cast<ws_session>(c);
      if (!session || session->closing()) continue;
      const auto* state = sync_session::of(*session);
      if (!state || !state->who) continue;
      auto refused = auth.revoked(*state->who, now);
      if (!refused) continue;
      spdlog::info("revocations: closing client {} ({})", id, state->who->subject);
      session->close(ws_close::disconnected, refused->code + ": " + refused->message);
      closed.push_back(id);
    }
  }
  return closed;
}

void add_revocation_routes(router& r, std::shared_ptr<const admin_services> s,
                           std::shared_ptr<revocation_store> store, const authenticator& auth) {
  r.add(http::verb::post, "/admin/v1/revocations",
        [s, store, &auth](request_context& ctx) { return post_revocation(ctx, s, store, auth); });
  r.add(http::verb::get, "/admin/v1/revocations",
        [s, store](request_context& ctx) { return list_revocations(ctx, s, store); });
  r.add(http::verb::delete_, "/admin/v1/revocations",
        [s, store](request_context& ctx) { return lift_revocation(ctx, s, store); });
}

}  // namespace fieldsync::server
