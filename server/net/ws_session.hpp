#pragma once
// One WebSocket connection of the fieldsync.v1 subprotocol.
//
// Concurrency contract: the session lives on the strand its socket was accepted on. send()
// and close() may be called from any thread; they post to that strand. Exactly one write
// is in flight at a time: each write's completion starts the next, draining a bounded
// queue of encoded messages shared with other sessions (shared_ptr<const std::string>, encoded once
// per message). A queue over its message or byte limit closes the session with 4008 (slow
// consumer), so a client that stops reading can never grow server memory. The handler's hooks and
// the context run and are read on the strand.

#include "server/net/connection_registry.hpp"
#include "server/net/http_types.hpp"
#include "server/net/ws_metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffered_read_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

inline constexpr std::string_view ws_subprotocol = "fieldsync.v1";

struct ws_options {
  std::size_t max_message_bytes = 1 << 20;
  std::size_t send_queue_messages = 1024;
  std::size_t send_queue_bytes = 8 << 20;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // a ping goes out after half of it
  bool permessage_deflate = true;
  // Queued messages up to this many bytes go out as one batch message; 0: never batch.
  std::size_t batch_bytes = 64 * 1024;
  // Origins allowed to upgrade (origin_policy.hpp); others get 403 before the upgrade.
  std::vector<std::string> allowed_origins;
  ws_metrics* metrics = nullptr;  // optional
};

// One outgoing message: an optional head shared by the messages of one subscription, then
// a body shared by all recipients, written back to back as one text message.
struct ws_message {
  std::shared_ptr<const std::string> head;
  std::shared_ptr<const std::string> body;
  // Runs on the session's strand once the message was written (true) or dropped (false),
  // for senders that pace themselves on the client (snapshots).
  std::function<void(bool written)> on_done;

  std::size_t size() const noexcept {
    return (head ? head->size() : 0) + (body ? body->size() : 0);
  }
};

class ws_session;

// What the application does with a session's messages. Called on the session's strand.
class ws_handler {
 public:
  virtual ~ws_handler() = default;
  // Before the upgrade is accepted (the session is not open yet): an answer refuses it.
  virtual std::optional<http_response> on_upgrade(ws_session&, const http_request&) {
    return std::nullopt;
  }
  // Once the upgrade is accepted, before the first message.
  virtual void on_open(ws_session&) {}
  virtual void on_message(ws_session& session, std::string_view text) = 0;
  virtual void on_close(ws_session&) {}
  // Adds what the application knows of the session to its admin description.
  virtual void describe(ws_session&, boost::json::object&) {}
};

class ws_session final : public connection, public std::enable_shared_from_this<ws_session> {
 public:
  // Reads go through a buffer that first gives out the bytes the HTTP session read past the
  // upgrade request (a client may send its first frames in the same segment).
  using stream_type = boost::beast::websocket::stream<
      boost::beast::buffered_read_stream<boost::beast::tcp_stream, boost::beast::flat_buffer>>;

  // Completes the upgrade of `req` (which asked for it) and runs the session to its end.
  // `already_read` holds what was read from the connection after the request: the start of
  // the WebSocket stream. A request without the fieldsync.v1 subprotocol gets a 400 JSON
  // answer instead, one from an origin the options do not allow a 403. `options` outlive
  // the session (they belong to the listener).
  static boost::asio::awaitable<void> run(boost::asio::ip::tcp::socket socket,
                                          boost::beast::flat_buffer already_read, http_request req,
                                          const ws_options& options,
                                          std::shared_ptr<ws_handler> handler,
                                          connection_registry& registry);

  ws_session(stream_type ws, const ws_options& options, std::shared_ptr<ws_handler> handler);

  void send(std::shared_ptr<const std::string> message);
  void send(std::string message) { send(std::make_shared<const std::string>(std::move(message))); }
  void send(ws_message message);
  // Several messages in order, with one crossing into the strand.
  void send(std::vector<ws_message> batch);
  void close(std::uint16_t code, std::string reason);
  // The node is going away: close with 1012 ("reconnect elsewhere") once no hold is taken
  // and the messages already queued (answers to pushes among them) are written.
  void shutdown() override;
  // On the strand: work whose answer must reach the client before a shutdown closes the
  // session (a push being applied). Every hold() is matched by one release().
  void hold() noexcept { ++holds_; }
  void release();
  // On the strand: shutdown() was called (the session closes as soon as it is released).
  bool shutting_down() const noexcept { return shutdown_pending_ || closing(); }
  std::string_view kind() const noexcept override { return "websocket"; }

  // The application protocol's per-session state (set by the handler's hooks).
  void set_context(std::shared_ptr<void> c) { context_ = std::move(c); }
  const std::shared_ptr<void>& context() const noexcept { return context_; }
  stream_type::executor_type get_executor() { return ws_.get_executor(); }
  std::uint64_t id() const noexcept { return registration_.id(); }
  // On the strand: a close was requested or the connection ended.
  bool closing() const noexcept { return closed_ || close_requested_.has_value(); }
  // What an operator sees of the session (GET /admin/v1/clients): its id, peer address,
  // start, send queue, and what the handler adds. It reads state of the session's strand:
  // call it from the reactor's thread (fieldsync runs one, so every strand is on it).
  boost::json::object describe();

 private:
  // The upgrade: checks, options, the handshake. Null when it was refused or failed.
  static boost::asio::awaitable<std::shared_ptr<ws_session>> open(
      boost::asio::ip::tcp::socket socket, boost::beast::flat_buffer already_read, http_request req,
      const ws_options& options, std::shared_ptr<ws_handler> handler);
  std::size_t gather_write(std::vector<boost::asio::const_buffer>& buffers) const;
  boost::asio::awaitable<void> read_loop();
  void pump_writes();
  void on_written(boost::beast::error_code ec);
  void drop_queue() noexcept;
  // Queues a message (or drops it, closing on overflow); the caller then pumps the writes.
  void enqueue(ws_message message);
  // `flush`: the queued messages are written before the close frame, instead of dropped.
  void request_close(std::uint16_t code, std::string reason, bool flush = false);
  void release_shutdown();
  void drop(ws_message& m) noexcept;

  stream_type ws_;
  const ws_options& options_;
  std::shared_ptr<ws_handler> handler_;
  registration registration_;
  std::shared_ptr<void> context_;
  std::string remote_;  // the peer's address, for operators
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  std::size_t holds_ = 0;
  bool shutdown_pending_ = false;
  bool flush_before_close_ = false;
  std::deque<ws_message> queue_;
  std::vector<boost::asio::const_buffer> write_buffers_;  // reused by every write
  std::string payload_;        // a write's several buffers copied into one; empty between writes
  bool write_active_ = false;  // a write or the close is in flight
  std::size_t writing_ = 0;  // how many of the queue's front messages are being written
  std::vector<ws_message> written_;  // the messages of the last write, reused
  static constexpr std::size_t max_batch_messages = 512;
  static constexpr std::size_t idle_read_bytes = 128;
  static constexpr std::size_t kept_batch_capacity = 16;  // messages; see on_written()
  std::size_t queued_bytes_ = 0;
  std::optional<boost::beast::websocket::close_reason> close_requested_;
  bool closed_ = false;
};

}  // namespace fieldsync::server
