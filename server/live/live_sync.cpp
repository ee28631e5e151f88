#include "server/live/live_sync.hpp"
#include "server/access/unauthorized.hpp"

#include "server/live/sync_messages.hpp"
#include "server/core/time_text.hpp"
#include "server/core/version.hpp"
#include "server/net/ws_close_codes.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t max_id_bytes = 128;
constexpr std::size_t max_client_id_bytes = 128;

bool valid_client_id(std::string_view id) {
  return !id.empty() && id.size() <= max_client_id_bytes &&
         std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '@';
         });
}

std::string close_reason(std::string_view code, std::string_view message) {
  return std::string(code) + ": " + std::string(message);
}

// {"type":"error",...} with the subscription's id and, for filters, the byte position.
std::string filter_error_message(const protocol::filter_error& e, const json::value& id,
                                 const char* what) {
  return json::serialize(json::object{{"type", "error"},
                                      {"id", id},
                                      {"code", protocol::filter_errc_name(e.code)},
                                      {"message", std::string(what) + ": " + e.to_string()},
                                      {"position", e.position}});
}

}  // namespace

sync_session* sync_session::of(ws_session& session) noexcept {
  return static_cast<sync_session*>(session.context().get());
}

void forget_subscription(ws_session& session, const std::shared_ptr<live_subscription>& sub) {
  auto* state = sync_session::of(session);
  if (!state) return;
  auto it = state->subscriptions.find(json::serialize(sub->id));
  if (it != state->subscriptions.end() && it->second == sub) state->subscriptions.erase(it);
}

live_sync::live_sync(const authenticator& auth, const collection_registry& collections,
                     std::shared_ptr<fanout_hub> hub, live_sync_options options,
                     ws_metrics* metrics)
    : auth_(auth),
      collections_(collections),
      hub_(std::move(hub)),
      options_(options),
      metrics_(metrics) {}

void live_sync::install(ws_protocol& protocol) {
  std::weak_ptr<live_sync> weak = weak_from_this();
  protocol.add("hello", [weak](ws_session& s, const json::object& m) {
    if (auto self = weak.lock()) self->hello(s, m);
  });
  protocol.add("subscribe", [weak](ws_session& s, const json::object& m) {
    if (auto self = weak.lock()) self->subscribe(s, m);
  });
  protocol.add("unsubscribe", [weak](ws_session& s, const json::object& m) {
    if (auto self = weak.lock()) self->unsubscribe(s, m);
  });
  protocol.add_lifecycle(shared_from_this());
}

std::optional<http_response> live_sync::on_upgrade(ws_session& session, const http_request& req) {
  auto state = std::make_shared<sync_session>(session.get_executor());
  auto authorization = req.find(http::field::authorization);
  if (authorization != req.end()) {
    // Clients that can set headers authenticate on the upgrade; a bad token is refused
    // before the socket is a WebSocket, as an HTTP API would.
    auto who = auth_.verify_header(authorization->value(), std::chrono::system_clock::now());
    if (!who) {
      if (metrics_) metrics_->auth_failures->add();
      return unauthorized_response(req, who.error());
    }
    state->who = std::move(*who);
  }
  session.set_context(std::move(state));
  return std::nullopt;
}

void live_sync::on_open(ws_session& session) {
  auto* state = sync_session::of(session);
  if (!state) return;
  if (state->who) {
    // The token was checked at the upgrade, before the handshake's writes: a revocation
    // swept the open sessions meanwhile without seeing this one.
    if (auto refused = auth_.revoked(*state->who, std::chrono::system_clock::now())) {
      session.close(ws_close::disconnected, refused->code + ": " + refused->message);
      return;
    }
    // Counted here rather than at the upgrade: only an opened session is ever closed.
    if (metrics_) metrics_->authenticated->add();
    if (!admit(*state, *state->who)) {
      session.close(
          ws_close::too_many_sessions,
          close_reason("too_many_sessions", "this user has the most sessions allowed open"));
      return;
    }
    arm_expiry(session, *state);
    return;
  }
  state->deadline.expires_after(options_.auth_timeout);
  std::weak_ptr<ws_session> weak = session.weak_from_this();
  const auto limit = options_.auth_timeout.count();
  state->deadline.async_wait(
      [weak, limit, metrics = metrics_](const boost::system::error_code& ec) {
        if (ec) return;
        auto s = weak.lock();
        if (!s) return;
        auto* st = sync_session::of(*s);
        if (!st || st->who) return;
        if (metrics) metrics->auth_failures->add();
        s->close(ws_close::unauthorized,
                 close_reason("auth_timeout", "no hello within " + std::to_string(limit) + " ms"));
      });
}

void live_sync::on_close(ws_session& session) {
  auto* state = sync_session::of(session);
  if (!state) return;
  state->deadline.cancel();
  for (auto& [id, sub] : state->subscriptions) hub_->remove(sub, false);
  state->subscriptions.clear();
  if (state->who && metrics_) metrics_->authenticated->sub();
  release(*state);
}

bool live_sync::admit(sync_session& state, const principal& who) {
  // Tokens without a subject cannot be told apart: they are not counted.
  if (who.subject.empty()) return true;
  std::lock_guard lock(users_mutex_);
  auto& n = users_[who.subject];
  if (n >= options_.max_sessions_per_user) {
    if (n == 0) users_.erase(who.subject);
    return false;
  }
  ++n;
  state.counted = true;
  state.counted_user = who.subject;
  return true;
}

void live_sync::release(sync_session& state) {
  if (!state.counted) return;
  std::lock_guard lock(users_mutex_);
  auto it = users_.find(state.counted_user);
  if (it != users_.end() && --it->second == 0) users_.erase(it);
  state.counted = false;
}

void live_sync::arm_expiry(ws_session& session, sync_session& state) {
  // A token accepted within the leeway stays good for the leeway past its exp (or the end
  // of its auth.max_token_age), as it would on a new connection; then the session closes
  // and the client reconnects with a new one.
  const auto remaining =
      state.who->usable_until - std::chrono::system_clock::now() + options_.token_leeway;
  state.deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::max<std::chrono::system_clock::duration>(remaining,
                                                    std::chrono::system_clock::duration::zero())));
  std::weak_ptr<ws_session> weak = session.weak_from_this();
  state.deadline.async_wait([weak](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto s = weak.lock()) {
      s->close(ws_close::token_expired,
               close_reason("token_expired",
                            "the token expired (exp, or auth.max_token_age): reconnect with a "
                            "new one"));
    }
  });
}

void live_sync::send_welcome(ws_session& session, const sync_session& state) {
  json::object welcome{{"type", "welcome"},
                       {"protocol", sync_protocol_version},
                       {"server", "fieldsync " + std::string(version())},
                       {"session", session.id()},
                       {"subject", state.who->subject},
                       {"expires_at", iso_time(state.who->expires_at)},
                       {"max_subscriptions", options_.max_subscriptions_per_session}};
  if (!state.client_id.empty()) welcome["client_id"] = state.client_id;
  session.send(json::serialize(welcome));
}

void live_sync::hello(ws_session& session, const json::object& msg) {
  auto* state = sync_session::of(session);
  if (!state) return;
  if (state->greeted) {
    session.send(
        ws_protocol::error_message("already_authenticated", "hello is sent once per connection"));
    return;
  }
  const auto* protocol_v = msg.if_contains("protocol");
  if (protocol_v && !(protocol_v->is_int64() && protocol_v->get_int64() == sync_protocol_version)) {
    session.close(
        ws_close::bad_hello,
        close_reason("unsupported_protocol", "this server speaks protocol 1 of fieldsync.v1"));
    return;
  }
  const auto* client_id = msg.if_contains("client_id");
  if (client_id) {
    if (!client_id->is_string() || !valid_client_id(client_id->get_string())) {
      session.close(ws_close::bad_hello,
                    close_reason("bad_client_id", "client_id: 1 to 128 of A-Z a-z 0-9 - _ . : @"));
      return;
    }
    state->client_id = std::string(client_id->get_string());
  }
  const auto* token = msg.if_contains("token");
  if (state->who) {
    // Authenticated on the upgrade already: hello only declares the client.
    if (token) {
      session.send(ws_protocol::error_message(
          "already_authenticated",
          "the upgrade request's Authorization header authenticated this session"));
      return;
    }
    state->greeted = true;
    send_welcome(session, *state);
    return;
  }
  if (!token || !token->is_string()) {
    if (metrics_) metrics_->auth_failures->add();
    session.close(ws_close::unauthorized,
                  close_reason("missing_token", "hello needs a \"token\" (a JWT)"));
    return;
  }
  auto who = auth_.verify(token->get_string(), std::chrono::system_clock::now());
  if (!who) {
    if (metrics_) metrics_->auth_failures->add();
    spdlog::debug("websocket session {}: hello refused: {}", session.id(), who.error().message);
    session.close(ws_close::unauthorized, close_reason(who.error().code, who.error().message));
    return;
  }
  if (!admit(*state, *who)) {
    session.close(
        ws_close::too_many_sessions,
        close_reason("too_many_sessions", "this user has the most sessions allowed open"));
    return;
  }
  state->who = std::move(*who);
  state->greeted = true;
  state->deadline.cancel();
  if (metrics_) metrics_->authenticated->add();
  arm_expiry(session, *state);
  send_welcome(session, *state);
}

void live_sync::describe(ws_session& session, json::object& out) {
  const auto* state = sync_session::of(session);
  if (!state) return;
  out["subject"] = state->who ? json::value(state->who->subject) : json::value(nullptr);
  out["client_id"] =
      state->client_id.empty() ? json::value(nullptr) : json::value(state->client_id);
  out["expires_at"] =
      state->who ? json::value(iso_time(state->who->expires_at)) : json::value(nullptr);
  json::array subscriptions;
  for (const auto& [key, sub] : state->subscriptions) {
    subscriptions.push_back(
        json::object{{"id", sub->id}, {"collection", sub->collection->schema.name}});
  }
  out["subscriptions"] = std::move(subscriptions);
  out["pushes_waiting"] = state->pushes.size() + (state->pushing ? 1 : 0);
}

void live_sync::subscribe(ws_session& session, const json::object& msg) {
  auto* state = sync_session::of(session);
  const json::value* id = msg.if_contains("id");
  auto error = [&](std::string_view code, std::string_view message) {
    session.send(ws_protocol::error_message(code, message, id));
  };
  if (!state || !state->who) return error("unauthenticated", "send hello with a token first");
  if (!id || !(id->is_string() || id->is_int64() || id->is_uint64())) {
    return error("bad_request", "subscribe needs an \"id\": a string or an integer");
  }
  if (id->is_string() && (id->get_string().empty() || id->get_string().size() > max_id_bytes)) {
    return error("bad_request", "a subscription id is 1 to 128 bytes");
  }
  std::string key = json::serialize(*id);
  if (state->subscriptions.contains(key)) {
    return error("duplicate_id", "a subscription with this id is active on this connection");
  }
  if (state->subscriptions.size() >= options_.max_subscriptions_per_session) {
    return error("too_many_subscriptions",
                 "this connection has websocket.max_subscriptions_per_session subscriptions");
  }
  const auto* collection_name = msg.if_contains("collection");
  if (!collection_name || !collection_name->is_string()) {
    return error("bad_request", "subscribe needs a \"collection\"");
  }
  const collection_access* collection = collections_.find(collection_name->get_string());
  if (!collection) {
    return error(
        "unknown_collection",
        "no collection named \"" + std::string(collection_name->get_string()).substr(0, 64) + "\"");
  }
  auto scope = bind_read_scope(*collection, *state->who);
  if (!scope) return error(scope.error().code, scope.error().message);

  protocol::bound_filter where = match_all_filter();
  const auto* where_text = msg.if_contains("where");
  const auto* params_v = msg.if_contains("params");
  if (params_v && !params_v->is_array()) return error("bad_request", "\"params\" is an array");
  if (where_text && !where_text->is_null()) {
    if (!where_text->is_string()) return error("bad_request", "\"where\" is a filter (a string)");
    auto checked = protocol::prepare_filter(where_text->get_string(), collection->schema,
                                            options_.filter_limits);
    if (!checked) return session.send(filter_error_message(checked.error(), *id, "where"));
    static const json::array no_params;
    auto bound = protocol::bind_filter(*checked, params_v ? params_v->get_array() : no_params,
                                       state->who->claims);
    if (!bound) return session.send(filter_error_message(bound.error(), *id, "where"));
    where = std::move(*bound);
  }

  std::optional<protocol::cursor> start;
  if (const auto* c = msg.if_contains("cursor"); c && !c->is_null()) {
    if (!c->is_string()) return error("bad_cursor", "\"cursor\" is a string the server gave out");
    start = protocol::cursor::parse(c->get_string());
    if (!start)
      return error("bad_cursor",
                   "not a cursor of this server: subscribe without one to re-snapshot");
  }

  auto sub = std::make_shared<live_subscription>();
  sub->id = *id;
  sub->head = std::make_shared<const std::string>(sync_messages::change_head(*id));
  sub->collection = collection;
  sub->filter.scope = std::move(*scope);
  sub->filter.where = std::move(where);
  sub->constraint = choose_index_constraint(sub->filter);
  sub->start_cursor = start;
  if (start && metrics_ && metrics_->resumes) metrics_->resumes->add();
  sub->session = session.weak_from_this();
  sub->session_id = session.id();
  sub->user = state->who->subject;
  state->subscriptions.emplace(std::move(key), sub);
  hub_->add(std::move(sub));
}

void live_sync::unsubscribe(ws_session& session, const json::object& msg) {
  auto* state = sync_session::of(session);
  const json::value* id = msg.if_contains("id");
  if (!state || !state->who) {
    session.send(
        ws_protocol::error_message("unauthenticated", "send hello with a token first", id));
    return;
  }
  if (!id) {
    session.send(
        ws_protocol::error_message("bad_request", "unsubscribe needs the subscription's \"id\""));
    return;
  }
  auto it = state->subscriptions.find(json::serialize(*id));
  if (it == state->subscriptions.end()) {
    session.send(ws_protocol::error_message("unknown_subscription",
                                            "no active subscription has this id", id));
    return;
  }
  hub_->remove(it->second, true);
  state->subscriptions.erase(it);
}

}  // namespace fieldsync::server
