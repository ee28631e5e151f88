// The admin API's view of the connected clients (docs/protocol.md, "Admin listener"):
//
//   GET    /admin/v1/clients?after=&limit=&subject=   WebSocket sessions, in id order
//   GET    /admin/v1/clients/{id}                     one session
//   DELETE /admin/v1/clients/{id}                     close it (4003)
//   DELETE /admin/v1/clients?subject=S                close every session of subject S
//
// Sessions are described from the admin request's coroutine: the reactor is one thread, so
// no session changes its state meanwhile. (Hopping onto each session's executor with
// co_spawn(..., use_awaitable) was tried and made the described sessions drop after a few
// calls under Boost 1.81, probably Asio's co_spawn cancellation-handler use-after-free,
// chriskohlhoff/asio issues 1332 and 1400; so nothing here co_spawns with a parent's
// cancellation slot.) Listings are paged: an operator can walk 10,000 sessions without the
// server building one huge answer.

#include "server/admin/admin_services.hpp"
#include "server/net/query_string.hpp"
#include "server/net/ws_close_codes.hpp"
#include "server/net/ws_session.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <variant>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t default_limit = 100;
constexpr std::size_t max_limit = 1000;

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::shared_ptr<ws_session> websocket_of(const std::shared_ptr<connection>& c) {
  return c && c->kind() == "websocket" ? std::static_pointer_cast<ws_session>(c) : nullptr;
}

bool is_subject(const json::object& client, std::string_view subject) {
  const auto* s = client.if_contains("subject");
  return s && s->is_string() && s->get_string() == subject;
}

http_response bad_parameter(const http_request& req, std::string message) {
  return error_response(req, http::status::bad_request, "bad_parameter", std::move(message));
}

asio::awaitable<http_response> list_clients(request_context& ctx, const admin_services& a) {
  auto params = parse_query(ctx.query);
  if (!params) {
    co_return bad_parameter(
        ctx.request, "the query string has a malformed %-escape or a value that is not UTF-8 text");
  }
  std::uint64_t after = 0;
  std::size_t limit = default_limit;
  if (const auto* v = find_param(*params, "after")) {
    auto n = parse_number(*v);
    if (!n) co_return bad_parameter(ctx.request, "after is a client id (a number)");
    after = *n;
  }
  if (const auto* v = find_param(*params, "limit")) {
    auto n = parse_number(*v);
    if (!n || *n < 1 || *n > max_limit) co_return bad_parameter(ctx.request, "limit is 1 to 1000");
    limit = static_cast<std::size_t>(*n);
  }
  const std::string* subject = find_param(*params, "subject");

  json::array clients;
  std::uint64_t scanned_to = after;
  bool more = false;
  // With a subject, sessions of others are skipped: scan on in pages until the page is full.
  for (;;) {
    auto page = a.connections.list("websocket", scanned_to, limit + 1);
    for (std::size_t i = 0; i < page.size(); ++i) {
      if (clients.size() == limit) {
        more = true;
        break;
      }
      scanned_to = page[i].first;
      auto session = websocket_of(page[i].second);
      if (!session) continue;
      auto description = session->describe();
      if (subject && !is_subject(description, *subject)) continue;
      clients.push_back(std::move(description));
    }
    if (more || page.size() <= limit) break;
  }
  json::object body{{"clients", std::move(clients)},
                    {"next_after", more ? json::value(scanned_to) : json::value(nullptr)}};
  co_return json_response(ctx.request, http::status::ok, body);
}

// The session named by the path, or the answer to give instead.
std::variant<std::shared_ptr<ws_session>, http_response> session_of(request_context& ctx, const admin_services& a) {
  auto id = parse_number(ctx.param("id"));
  if (!id) return bad_parameter(ctx.request, "a client id is a number");
  auto session = websocket_of(a.connections.find(*id));
  if (!session) {
    return error_response(ctx.request, http::status::not_found, "not_found",
                          "no connected client has this id");
  }
  return session;
}

void disconnect(ws_session& session, const std::string& who) {
  spdlog::info("admin: disconnecting client {} ({})", session.id(), who);
  session.close(ws_close::disconnected, "disconnected: an operator closed this session");
}

}  // namespace

void add_client_routes(router& r, std::shared_ptr<const admin_services> s) {
  r.add(http::verb::get, "/admin/v1/clients",
        [s](request_context& ctx) -> asio::awaitable<http_response> {
          if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
          co_return co_await list_clients(ctx, *s);
        });

  r.add(http::verb::get, "/admin/v1/clients/{id}",
        [s](request_context& ctx) -> asio::awaitable<http_response> {
          if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
          auto found = session_of(ctx, *s);
          if (auto* answer = std::get_if<http_response>(&found)) co_return std::move(*answer);
          auto session = std::get<std::shared_ptr<ws_session>>(std::move(found));
          co_return json_response(ctx.request, http::status::ok, session->describe());
        });

  r.add(http::verb::delete_, "/admin/v1/clients/{id}",
        [s](request_context& ctx) -> asio::awaitable<http_response> {
          if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
          auto found = session_of(ctx, *s);
          if (auto* answer = std::get_if<http_response>(&found)) co_return std::move(*answer);
          auto session = std::get<std::shared_ptr<ws_session>>(std::move(found));
          disconnect(*session, "by id");
          co_return json_response(ctx.request, http::status::ok,
                                  {{"disconnected", json::array{session->id()}}});
        });

  // Every session of one subject (a lost device's user, a revoked account). The subject is
  // required: closing every client at once is what a restart is for.
  r.add(http::verb::delete_, "/admin/v1/clients",
        [s](request_context& ctx) -> asio::awaitable<http_response> {
          if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
          auto params = parse_query(ctx.query);
          const std::string* subject = params ? find_param(*params, "subject") : nullptr;
          if (!subject || subject->empty()) {
            co_return bad_parameter(ctx.request,
                                    "name the subject whose sessions to close: ?subject=");
          }
          json::array closed;
          std::uint64_t after = 0;
          for (;;) {
            auto page = s->connections.list("websocket", after, 256);
            if (page.empty()) break;
            for (auto& [id, c] : page) {
              after = id;
              auto session = websocket_of(c);
              if (!session || session->closing()) continue;  // closing already
              auto description = session->describe();
              if (!is_subject(description, *subject)) continue;
              disconnect(*session, "subject " + *subject);
              closed.push_back(id);
            }
          }
          co_return json_response(ctx.request, http::status::ok,
                                  {{"disconnected", std::move(closed)}});
        });
}

}  // namespace fieldsync::server
