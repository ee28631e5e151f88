#pragma once
// The fieldsync.v1 message layer: every frame is one JSON object with a "type".
// docs/protocol.md is the reference. Message types are dispatched through one table;
// later features (hello, subscribe, push) add their entries there.

#include "server/net/ws_session.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fieldsync::server {

// A feature's part in a session's life besides its messages (live sync: authentication at
// the upgrade, per-session state, clean-up). Called on the session's strand.
class ws_lifecycle {
 public:
  virtual ~ws_lifecycle() = default;
  virtual std::optional<http_response> on_upgrade(ws_session&, const http_request&) {
    return std::nullopt;
  }
  virtual void on_open(ws_session&) {}
  virtual void on_close(ws_session&) {}
  virtual void describe(ws_session&, boost::json::object&) {}
};

class ws_protocol final : public ws_handler {
 public:
  using message_handler = std::function<void(ws_session&, const boost::json::object& message)>;

  ws_protocol();

  // Start-up only, before the listener accepts: a message type and its handler.
  void add(std::string type, message_handler handler);
  void add_lifecycle(std::shared_ptr<ws_lifecycle> hooks);

  std::optional<http_response> on_upgrade(ws_session& session, const http_request& req) override;
  void on_open(ws_session& session) override;
  void on_message(ws_session& session, std::string_view text) override;
  void on_close(ws_session& session) override;
  void describe(ws_session& session, boost::json::object& out) override;

  // {"type":"error","code":...,"message":...} (plus the request's "id" when it had one).
  static std::string error_message(std::string_view code, std::string_view message,
                                   const boost::json::value* id = nullptr);

 private:
  std::map<std::string, message_handler, std::less<>> handlers_;
  std::vector<std::shared_ptr<ws_lifecycle>> lifecycles_;
};

}  // namespace fieldsync::server
