#pragma once
// One HTTP/1.1 connection: reads requests within the configured limits, answers them
// through the router, and hands WebSocket upgrades of /v1/ws over to ws_session.
//
// Concurrency contract: lives on the strand its socket was accepted on; shutdown() may be
// called from any thread and posts there. An idle connection is closed at once on
// shutdown, a busy one after its current answer.

#include "server/net/connection_registry.hpp"
#include "server/net/router.hpp"
#include "server/net/ws_session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace fieldsync::server {

struct http_limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds request_timeout{30'000};    // to read one whole request
  std::chrono::milliseconds keepalive_timeout{60'000};  // idle between requests
};

// What the sessions of one listener share. Immutable once the listener runs.
struct listener_context {
  std::string name;  // "public" or "admin", for logs
  const router* routes = nullptr;
  http_limits limits;
  std::shared_ptr<ws_handler> websocket;  // null: this listener refuses upgrades
  ws_options websocket_options;
  connection_registry* registry = nullptr;
};

class http_session final : public connection, public std::enable_shared_from_this<http_session> {
 public:
  static boost::asio::awaitable<void> run(boost::asio::ip::tcp::socket socket,
                                          std::shared_ptr<const listener_context> ctx);

  http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<const listener_context> ctx);

  void shutdown() override;
  std::string_view kind() const noexcept override { return "http"; }

 private:
  // What an accepted upgrade to /v1/ws hands on to the WebSocket session.
  struct ws_upgrade {
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer already_read;
    http_request request;
  };

  // Serves requests until the connection ends, or until an upgrade to the WebSocket
  // endpoint, which it returns (after detaching this session from the registry).
  boost::asio::awaitable<std::optional<ws_upgrade>> serve();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<const listener_context> ctx_;
  registration registration_;
  bool idle_ = true;  // waiting for the next request (safe to cut on shutdown)
  bool stopping_ = false;
};

}  // namespace fieldsync::server
