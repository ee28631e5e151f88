#pragma once
// The fieldsync.v1 message layer: every frame is one JSON object with a "type".
// docs/protocol.md is the reference. Message types are dispatched through one table;
// later features (hello, subscribe, push) add their entries there.

#include "server/ws_session.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <string>

namespace fieldsync::server {

class ws_protocol final : public ws_handler {
 public:
  using message_handler = std::function<void(ws_session&, const boost::json::object& message)>;

  ws_protocol();

  void on_message(ws_session& session, std::string_view text) override;

  // {"type":"error","code":...,"message":...} (plus the request's "id" when it had one).
  static std::string error_message(std::string_view code, std::string_view message,
                                   const boost::json::value* id = nullptr);

 private:
  std::map<std::string, message_handler, std::less<>> handlers_;
};

}  // namespace fieldsync::server
