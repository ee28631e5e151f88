#pragma once
// One WebSocket connection of the fieldsync.v1 subprotocol.
//
// Concurrency contract: the session lives on the strand its socket was accepted on. send()
// and close() may be called from any thread; they post to that strand. Exactly one write
// is in flight at a time: a write loop drains a bounded queue of encoded messages shared
// with other sessions (shared_ptr<const std::string>, encoded once per message). A queue
// over its message or byte limit closes the session with 4008 (slow consumer), so a client
// that stops reading can never grow server memory.

#include "server/connection_registry.hpp"
#include "server/http_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::server {

inline constexpr std::string_view ws_subprotocol = "fieldsync.v1";

struct ws_options {
  std::size_t max_message_bytes = 1 << 20;
  std::size_t send_queue_messages = 1024;
  std::size_t send_queue_bytes = 8 << 20;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // a ping goes out after half of it
  bool permessage_deflate = true;
};

class ws_session;

// What the application does with a session's messages. Called on the session's strand.
class ws_handler {
 public:
  virtual ~ws_handler() = default;
  virtual void on_message(ws_session& session, std::string_view text) = 0;
  virtual void on_close(ws_session&) {}
};

class ws_session final : public connection, public std::enable_shared_from_this<ws_session> {
 public:
  using stream_type = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  // Completes the upgrade of `req` (which asked for it) and runs the session to its end.
  // A request without the fieldsync.v1 subprotocol gets a 400 JSON answer instead.
  static boost::asio::awaitable<void> run(boost::beast::tcp_stream stream, http_request req,
                                          const ws_options& options,
                                          std::shared_ptr<ws_handler> handler,
                                          connection_registry& registry);

  ws_session(stream_type ws, const ws_options& options, std::shared_ptr<ws_handler> handler);

  void send(std::shared_ptr<const std::string> message);
  void send(std::string message) { send(std::make_shared<const std::string>(std::move(message))); }
  void close(std::uint16_t code, std::string reason);
  void shutdown() override;
  std::string_view kind() const noexcept override { return "websocket"; }

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  void enqueue(std::shared_ptr<const std::string> message);
  void request_close(std::uint16_t code, std::string reason);

  stream_type ws_;
  ws_options options_;
  std::shared_ptr<ws_handler> handler_;
  registration registration_;
  boost::asio::steady_timer wake_;  // wakes the write loop; never expires on its own
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  std::optional<boost::beast::websocket::close_reason> close_requested_;
  bool closed_ = false;
};

}  // namespace fieldsync::server
