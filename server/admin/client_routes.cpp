// The admin API's view of the connected clients (docs/protocol.md, "Admin listener"):
//
//   GET    /admin/v1/clients?after=&limit=&subject=&node=   WebSocket sessions of every
//                                                   live node (node=local: this one's only)
//   GET    /admin/v1/clients/{id}                     one session of this node
//   DELETE /admin/v1/clients/{id}?node=N              close it (4003), on node N if given
//   DELETE /admin/v1/clients?subject=S                close every session of subject S, on
//                                                   every node
//
// Other nodes' sessions are read from what they published with their heartbeat
// (fieldsync.nodes.clients, at most one heartbeat interval old); orders for other nodes go
// out as NOTIFY fieldsync_admin (cluster_view.hpp), which every node LISTENs to.
//
// Sessions are described from the admin request's coroutine: the reactor is one thread, so
// no session changes its state meanwhile. (Hopping onto each session's executor with
// co_spawn(..., use_awaitable) was tried and made the described sessions drop after a few
// calls under Boost 1.81, probably Asio's co_spawn cancellation-handler use-after-free,
// chriskohlhoff/asio issues 1332 and 1400; so nothing here co_spawns with a parent's
// cancellation slot.) Listings are paged: an operator can walk 10,000 sessions without the
// server building one huge answer.

#include "server/admin/admin_services.hpp"
#include "server/admin/cluster_view.hpp"
#include "server/net/query_string.hpp"
#include "server/net/ws_close_codes.hpp"
#include "server/net/ws_session.hpp"

#include "storage/sqlstate.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
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

// This node's sessions, paged by id (node=local, and the list before clusters).
asio::awaitable<http_response> list_local_clients(request_context& ctx, const admin_services& a,
                                                  const query_params& params, std::size_t limit,
                                                  const std::string* subject) {
  std::uint64_t after = 0;
  if (const auto* v = find_param(params, "after")) {
    auto n = parse_number(*v);
    if (!n) co_return bad_parameter(ctx.request, "after is a client id (a number)");
    after = *n;
  }
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
      description["node"] = a.node.id;
      description["node_name"] = a.node.name;
      clients.push_back(std::move(description));
    }
    if (more || page.size() <= limit) break;
  }
  json::object body{{"clients", std::move(clients)},
                    {"next_after", more ? json::value(scanned_to) : json::value(nullptr)}};
  co_return json_response(ctx.request, http::status::ok, body);
}

struct listed_client {
  client_ref ref;
  json::object description;
};

// Every live node's sessions (this node's live, the others' as they last published them),
// ordered by node id and session id, paged by "<node>:<id>". `only_node`: one node's.
asio::awaitable<http_response> list_cluster_clients(request_context& ctx, const admin_services& a,
                                                    const query_params& params, std::size_t limit,
                                                    const std::string* subject,
                                                    const std::string* only_node) {
  std::optional<client_ref> after;
  if (const auto* v = find_param(params, "after")) {
    after = parse_client_ref(*v);
    if (!after) co_return bad_parameter(ctx.request, "after is a previous answer's next_after");
  }
  std::vector<listed_client> all;
  auto keep = [&](client_ref ref, json::object description, const std::string& node_name) {
    if (subject && !is_subject(description, *subject)) return;
    if (after && !(*after < ref)) return;
    description["node"] = ref.node;
    description["node_name"] = node_name;
    all.push_back({std::move(ref), std::move(description)});
  };
  if (!only_node || *only_node == a.node.id) {
    for (auto& d : describe_sessions(a.connections, std::numeric_limits<std::size_t>::max())) {
      auto id = d.as_object().at("id").to_number<std::uint64_t>();
      keep({a.node.id, id}, std::move(d.as_object()), a.node.name);
    }
  }
  if (!only_node || *only_node != a.node.id) {
    // The parameters built apart from the co_await: GCC 12 mishandles temporaries bound to
    // references inside a co_await expression (UBSan caught a null reference here).
    storage::pg_params sql_params(a.node.id);
    std::optional<std::string> one_node;
    if (only_node) one_node = *only_node;
    sql_params.add(one_node);
    sql_params.add(static_cast<std::int64_t>(missed_heartbeats_down));
    auto r = co_await a.storage_pool->async_query(
        "SELECT id, name, clients::text FROM fieldsync.nodes "
        "WHERE id <> $1 AND clients IS NOT NULL AND ($2::text IS NULL OR id = $2) "
        "AND heartbeat_at >= now() - $3::bigint * interval_ms * interval '1 millisecond'",
        sql_params);
    // 42P01: no schema yet; no node can have published then.
    if (!r && r.error().sqlstate != storage::sqlstate::undefined_table) {
      co_return error_response(ctx.request, http::status::service_unavailable,
                               "database_unavailable", r.error().to_string());
    }
    for (int i = 0; r && i < r->rows(); ++i) {
      boost::system::error_code ec;
      auto published = json::parse(r->value(i, 2), ec);
      if (ec || !published.is_array()) continue;
      const std::string node(r->value(i, 0));
      const std::string name(r->value(i, 1));
      for (auto& d : published.as_array()) {
        if (!d.is_object()) continue;
        const auto* id = d.as_object().if_contains("id");
        if (!id || !id->is_number()) continue;
        boost::system::error_code nec;
        auto n = id->to_number<std::uint64_t>(nec);
        if (nec) continue;
        keep({node, n}, std::move(d.as_object()), name);
      }
    }
  }
  std::sort(all.begin(), all.end(),
            [](const listed_client& x, const listed_client& y) { return x.ref < y.ref; });
  const bool more = all.size() > limit;
  if (more) all.resize(limit);
  json::array clients;
  for (auto& c : all) clients.push_back(std::move(c.description));
  json::object body{
      {"clients", std::move(clients)},
      {"next_after", more ? json::value(to_string(all.back().ref)) : json::value(nullptr)}};
  co_return json_response(ctx.request, http::status::ok, body);
}

asio::awaitable<http_response> list_clients(request_context& ctx, const admin_services& a) {
  auto params = parse_query(ctx.query);
  if (!params) {
    co_return bad_parameter(
        ctx.request, "the query string has a malformed %-escape or a value that is not UTF-8 text");
  }
  std::size_t limit = default_limit;
  if (const auto* v = find_param(*params, "limit")) {
    auto n = parse_number(*v);
    if (!n || *n < 1 || *n > max_limit) co_return bad_parameter(ctx.request, "limit is 1 to 1000");
    limit = static_cast<std::size_t>(*n);
  }
  const std::string* subject = find_param(*params, "subject");
  if (!subject) subject = find_param(*params, "sub");
  const std::string* node = find_param(*params, "node");
  if (node && *node == "local")
    co_return co_await list_local_clients(ctx, a, *params, limit, subject);
  co_return co_await list_cluster_clients(ctx, a, *params, limit, subject, node);
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

void disconnect(ws_session& session, std::string_view who) {
  spdlog::info("admin: disconnecting client {} ({})", session.id(), who);
  session.close(ws_close::disconnected, "disconnected: an operator closed this session");
}

// Sends the order to the other nodes; the answer's "broadcast" fields.
// The order by value: a coroutine must not keep a reference to its caller's temporary.
asio::awaitable<void> broadcast(const admin_services& a, disconnect_order order,
                                json::object& body) {
  std::optional<std::string> failed = "no broadcast on this node";
  if (a.broadcast) failed = co_await a.broadcast(encode(order));
  body["broadcast"] = !failed.has_value();
  if (failed) {
    spdlog::warn("admin: cannot send the disconnect to the other nodes: {}", *failed);
    body["broadcast_error"] = *failed;
  }
}

}  // namespace

json::array describe_sessions(const connection_registry& connections, std::size_t limit) {
  json::array out;
  std::uint64_t after = 0;
  while (out.size() < limit) {
    auto page = connections.list("websocket", after, 256);
    if (page.empty()) break;
    for (auto& [id, c] : page) {
      after = id;
      auto session = websocket_of(c);
      if (!session) continue;
      out.push_back(session->describe());
      if (out.size() == limit) break;
    }
  }
  return out;
}

std::vector<std::uint64_t> disconnect_subject(const connection_registry& connections,
                                              std::string_view subject, std::string_view why) {
  std::vector<std::uint64_t> closed;
  std::uint64_t after = 0;
  for (;;) {
    auto page = connections.list("websocket", after, 256);
    if (page.empty()) break;
    for (auto& [id, c] : page) {
      after = id;
      auto session = websocket_of(c);
      if (!session || session->closing()) continue;  // closing already
      if (!is_subject(session->describe(), subject)) continue;
      disconnect(*session, why);
      closed.push_back(id);
    }
  }
  return closed;
}

bool disconnect_session(const connection_registry& connections, std::uint64_t id,
                        std::string_view why) {
  auto session = websocket_of(connections.find(id));
  if (!session || session->closing()) return false;
  disconnect(*session, why);
  return true;
}

void apply_admin_notification(const connection_registry& connections, std::string_view self,
                              std::string_view payload) {
  auto order = parse_disconnect_order(payload);
  if (!order) {
    spdlog::warn("admin: ignoring a notification on {} this version does not know: {:.200}",
                 admin_channel, payload);
    return;
  }
  if (!order_concerns(*order, self)) return;
  const std::string why = "ordered by node " + order->from;
  if (order->session) {
    disconnect_session(connections, order->session->id, why);
  } else {
    disconnect_subject(connections, *order->subject, why + ", subject " + *order->subject);
  }
}

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
          auto params = parse_query(ctx.query);
          const std::string* node = params ? find_param(*params, "node") : nullptr;
          if (node && *node != "local" && *node != s->node.id) {
            // Another node's session: that node closes it when the order reaches it.
            auto id = parse_number(ctx.param("id"));
            if (!id) co_return bad_parameter(ctx.request, "a client id is a number");
            if (node->empty() || node->size() > 64)
              co_return bad_parameter(ctx.request, "node is a node id");
            json::object body{{"disconnected", json::array{}}};
            disconnect_order order{s->node.id, std::nullopt, client_ref{*node, *id}};
            co_await broadcast(*s, std::move(order), body);
            co_return json_response(ctx.request, http::status::ok, body);
          }
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
          if (!subject && params) subject = find_param(*params, "sub");
          if (!subject || subject->empty()) {
            co_return bad_parameter(ctx.request,
                                    "name the subject whose sessions to close: ?subject=");
          }
          if (subject->size() > max_order_subject_bytes) {
            co_return bad_parameter(ctx.request, "a subject has at most 1024 bytes");
          }
          const std::string* node = find_param(*params, "node");
          json::array closed;
          for (auto id : disconnect_subject(s->connections, *subject, "subject " + *subject)) {
            closed.push_back(id);
          }
          json::object body{{"disconnected", std::move(closed)}};
          if (node && *node == "local") {
            body["broadcast"] = false;
          } else {
            disconnect_order order{s->node.id, *subject, std::nullopt};
            co_await broadcast(*s, std::move(order), body);
          }
          co_return json_response(ctx.request, http::status::ok, body);
        });
}

}  // namespace fieldsync::server
