#include "server/net/ws_protocol.hpp"

#include "protocol/json_parse.hpp"
#include "server/net/ws_message_limits.hpp"

#include <boost/json/serialize.hpp>

namespace fieldsync::server {

namespace json = boost::json;

ws_protocol::ws_protocol() {
  handlers_.emplace("ping", [](ws_session& s, const json::object& msg) {
    json::object pong{{"type", "pong"}};
    if (auto* id = msg.if_contains("id")) pong["id"] = *id;
    s.send(json::serialize(pong));
  });
}

void ws_protocol::add(std::string type, message_handler handler) {
  handlers_.insert_or_assign(std::move(type), std::move(handler));
}

void ws_protocol::add_lifecycle(std::shared_ptr<ws_lifecycle> hooks) {
  lifecycles_.push_back(std::move(hooks));
}

std::optional<http_response> ws_protocol::on_upgrade(ws_session& session, const http_request& req) {
  for (auto& l : lifecycles_) {
    if (auto refusal = l->on_upgrade(session, req)) return refusal;
  }
  return std::nullopt;
}

void ws_protocol::on_open(ws_session& session) {
  for (auto& l : lifecycles_) l->on_open(session);
}

void ws_protocol::on_close(ws_session& session) {
  for (auto& l : lifecycles_) l->on_close(session);
}

void ws_protocol::describe(ws_session& session, boost::json::object& out) {
  for (auto& l : lifecycles_) l->describe(session, out);
}

std::string ws_protocol::error_message(std::string_view code, std::string_view message,
                                       const json::value* id) {
  json::object err{{"type", "error"}, {"code", code}, {"message", message}};
  if (id) err["id"] = *id;
  return json::serialize(err);
}

void ws_protocol::on_message(ws_session& session, std::string_view text) {
  // Exactly: a pushed float must reach PostgreSQL as the client wrote it.
  auto parsed = protocol::parse_json_exact(text, ws_max_json_depth);
  if (!parsed) {
    session.send(error_message("bad_json", "message is not valid JSON: " + parsed.error().message()));
    return;
  }
  json::value& v = *parsed;
  const auto* msg = v.if_object();
  const json::value* type = msg ? msg->if_contains("type") : nullptr;
  if (!type || !type->is_string()) {
    session.send(error_message("bad_message", "a message is a JSON object with a string \"type\""));
    return;
  }
  const json::value* id = msg->if_contains("id");
  auto it = handlers_.find(std::string_view(type->get_string()));
  if (it == handlers_.end()) {
    session.send(error_message("unknown_type",
                               "unknown message type \"" + std::string(type->get_string()) + "\"",
                               id));
    return;
  }
  it->second(session, *msg);
}

}  // namespace fieldsync::server
