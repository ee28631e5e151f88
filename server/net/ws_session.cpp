#include "server/net/ws_session.hpp"

#include "server/core/time_text.hpp"
#include "server/net/buffered_teardown.hpp"
#include "server/net/origin_policy.hpp"
#include "server/net/ws_close_codes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include <array>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace websocket = beast::websocket;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

// True when the comma-separated Sec-WebSocket-Protocol list offers `wanted`.
bool offers_subprotocol(std::string_view header, std::string_view wanted) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto token = header.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (token == wanted) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool is_normal_end(const boost::system::error_code& ec) {
  return ec == websocket::error::closed || ec == asio::error::operation_aborted ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == beast::error::timeout;
}

// Answers an upgrade request that is refused, and ends the connection.
asio::awaitable<void> refuse(beast::tcp_stream& stream, http_response res) {
  res.keep_alive(false);
  co_await http::async_write(stream, res, as_tuple(use_awaitable));
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace

ws_session::ws_session(stream_type ws, const ws_options& options,
                       std::shared_ptr<ws_handler> handler)
    : ws_(std::move(ws)), options_(options), handler_(std::move(handler)) {}

asio::awaitable<void> ws_session::run(asio::ip::tcp::socket socket, beast::flat_buffer already_read,
                                      http_request req, const ws_options& options,
                                      std::shared_ptr<ws_handler> handler,
                                      connection_registry& registry) {
  // The upgrade runs in a frame of its own, released once it is done: this one lives as
  // long as the connection and holds nothing of the request (docs/fanout.md, "Memory").
  auto self = co_await open(std::move(socket), std::move(already_read), std::move(req), options,
                            std::move(handler));
  if (!self) co_return;
  self->registration_.attach(registry, self);
  if (options.metrics) options.metrics->sessions->add();
  self->handler_->on_open(*self);
  co_await self->read_loop();
  if (options.metrics) options.metrics->sessions->sub();
}

asio::awaitable<std::shared_ptr<ws_session>> ws_session::open(asio::ip::tcp::socket socket,
                                                              beast::flat_buffer already_read,
                                                              http_request req,
                                                              const ws_options& options,
                                                              std::shared_ptr<ws_handler> handler) {
  if (!offers_subprotocol(req[http::field::sec_websocket_protocol], ws_subprotocol)) {
    auto res = error_response(req, http::status::bad_request, "unsupported_subprotocol",
                              "the WebSocket endpoint speaks the subprotocol fieldsync.v1; "
                              "offer it in Sec-WebSocket-Protocol");
    beast::tcp_stream stream(std::move(socket));
    co_await refuse(stream, std::move(res));
    co_return nullptr;
  }

  const auto origin = req.find(http::field::origin);
  std::string_view origin_value;
  if (origin != req.end())
    origin_value = std::string_view(origin->value().data(), origin->value().size());
  if (!origin_allowed(options.allowed_origins, origin_value, req[http::field::host],
                      origin != req.end())) {
    if (options.metrics) options.metrics->origin_refusals->add();
    auto res = error_response(req, http::status::forbidden, "origin_not_allowed",
                              "WebSocket connections from this origin are not allowed "
                              "(websocket.allowed_origins)");
    beast::tcp_stream stream(std::move(socket));
    co_await refuse(stream, std::move(res));
    co_return nullptr;
  }

  // Beast's own timeouts, not the tcp_stream's: handshake, then idle with pings.
  stream_type ws(std::move(socket));
  // Only the unread bytes are kept, in a buffer of their size: the HTTP session's read
  // buffer would otherwise stay allocated for the connection's life (in this frame too).
  if (already_read.size() > 0) {
    auto& pending = ws.next_layer().buffer();
    pending.commit(asio::buffer_copy(pending.prepare(already_read.size()), already_read.data()));
  }
  already_read = beast::flat_buffer();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.handshake_timeout;
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.read_message_max(options.max_message_bytes);
  if (options.permessage_deflate) {
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    // Memory per connection, kept for its life (docs/fanout.md, "permessage-deflate"): the
    // compressor's buffers are 4 * 2^window_bits + 6 * 2^(memLevel + 6) bytes. With
    // 12-bit windows, memLevel 1 compresses sync messages as well as 4 (their repeats are
    // found through the window, not the hash chains) in 17 KiB instead of 24; a smaller
    // window costs a third more bytes on the wire. Clients send little: their compressor
    // starts afresh with each message, so the server frees its inflate window after each.
    pmd.server_max_window_bits = 12;
    pmd.client_max_window_bits = 12;
    pmd.memLevel = 1;
    pmd.client_no_context_takeover = true;
    ws.set_option(pmd);
  }
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, "fieldsync");
    res.set(http::field::sec_websocket_protocol, ws_subprotocol);
  }));

  auto self = std::make_shared<ws_session>(std::move(ws), options, std::move(handler));
  beast::error_code peer_error;
  const auto peer = beast::get_lowest_layer(self->ws_).socket().remote_endpoint(peer_error);
  if (!peer_error) {
    self->remote_ = peer.address().to_string() + ":" + std::to_string(peer.port());
  }
  if (auto refusal = self->handler_->on_upgrade(*self, req)) {
    auto& tcp = beast::get_lowest_layer(self->ws_);
    tcp.expires_after(options.handshake_timeout);
    co_await refuse(tcp, std::move(*refusal));
    co_return nullptr;
  }
  auto [ec] = co_await self->ws_.async_accept(req, as_tuple(use_awaitable));
  if (ec) {
    spdlog::debug("websocket handshake failed: {}", ec.message());
    co_return nullptr;
  }
  co_return self;
}

json::object ws_session::describe() {
  json::object out{{"id", id()},
                   {"remote", remote_},
                   {"connected_at", iso_time(connected_at_)},
                   {"send_queue", {{"messages", queue_.size()}, {"bytes", queued_bytes_}}},
                   {"closing", closing()}};
  handler_->describe(*this, out);
  return out;
}

asio::awaitable<void> ws_session::read_loop() {
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  for (;;) {
    // Beast prepares a read's whole buffer before it waits, so an idle connection would
    // hold 1.5 KiB for nothing: the first read of a message asks for at most
    // idle_read_bytes, the rest of the message for as much as it needs, and the buffer is
    // freed after each message (docs/fanout.md, "Memory").
    beast::error_code ec;
    do {
      const std::size_t limit = buffer.size() == 0 ? idle_read_bytes : 0;
      auto [read_ec, n] = co_await ws_.async_read_some(buffer, limit, as_tuple(use_awaitable));
      ec = read_ec;
    } while (!ec && !ws_.is_message_done());
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        spdlog::info("websocket closed: message over {} bytes", options_.max_message_bytes);
      } else if (!is_normal_end(ec)) {
        spdlog::debug("websocket read failed: {}", ec.message());
      }
      break;
    }
    if (ws_.got_text()) {
      auto data = buffer.cdata();
      handler_->on_message(*this,
                           std::string_view(static_cast<const char*>(data.data()), data.size()));
    } else {
      request_close(ws_close::unsupported_data, "fieldsync.v1 uses text frames");
    }
    buffer.clear();
    buffer.shrink_to_fit();
  }
  closed_ = true;
  pump_writes();
  handler_->on_close(*this);
}

// The next WebSocket message to write: the front of the queue alone, or, when more wait
// and batching is on, as many as fit in options_.batch_bytes wrapped in one
// {"type":"batch","messages":[...]} (docs/protocol.md, "Batches"). A client that reads
// slower than the server writes then costs one write (and one frame) per batch instead of
// per message, which is what lets a backlog drain. Nothing is copied: the buffers point
// into the queued messages. Returns how many messages the buffers hold.
std::size_t ws_session::gather_write(std::vector<asio::const_buffer>& buffers) const {
  static constexpr std::string_view batch_open = R"({"type":"batch","messages":[)";
  static constexpr std::string_view comma = ",";
  static constexpr std::string_view batch_close = "]}";
  auto add = [&buffers](const ws_message& m) {
    if (m.head) buffers.push_back(asio::buffer(*m.head));
    buffers.push_back(asio::buffer(*m.body));
  };
  buffers.clear();
  std::size_t count = 1;
  std::size_t bytes = queue_.front().size() + batch_open.size() + batch_close.size();
  while (count < queue_.size() && count < max_batch_messages &&
         bytes + queue_[count].size() + 1 <= options_.batch_bytes) {
    bytes += queue_[count].size() + 1;
    ++count;
  }
  if (count == 1) {
    add(queue_.front());
    return 1;
  }
  buffers.push_back(asio::buffer(batch_open));
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) buffers.push_back(asio::buffer(comma));
    add(queue_[i]);
  }
  buffers.push_back(asio::buffer(batch_close));
  return count;
}

// Starts the next write, or the close, when none is in flight; called on the strand after
// anything that gives it work (a message queued, a close requested, the connection ended).
// Plain completion handlers rather than a coroutine woken by a timer: the timer's wake-up
// and the coroutine's resumption were a tenth of the fan-out's CPU at 10,000 sessions
// (docs/fanout.md, "The write path"). One write or close is in flight at a time; only its
// completion pops messages.
void ws_session::pump_writes() {
  if (write_active_) return;
  if (closed_) {
    drop_queue();
    return;
  }
  if (close_requested_ && (!flush_before_close_ || queue_.empty())) {
    write_active_ = true;
    ws_.async_close(*close_requested_, [self = shared_from_this()](beast::error_code ec) {
      if (ec && !is_normal_end(ec)) spdlog::debug("websocket close failed: {}", ec.message());
      self->write_active_ = false;
      self->closed_ = true;
      self->drop_queue();
    });
    return;
  }
  if (queue_.empty()) return;
  // The messages stay queued while they are written.
  writing_ = gather_write(write_buffers_);
  // Several buffers are copied into one: Beast walks a frame's buffers through nested
  // sequence views several times per write, which costs more per message than copying
  // their bytes (docs/fanout.md, "one buffer per frame"). Released after the write, so an
  // idle session holds none; a lone buffer (a large snapshot page) goes as it is.
  asio::const_buffer out = write_buffers_.front();
  if (write_buffers_.size() > 1) {
    payload_.reserve(asio::buffer_size(write_buffers_));
    for (const auto& b : write_buffers_)
      payload_.append(static_cast<const char*>(b.data()), b.size());
    out = asio::const_buffer(payload_.data(), payload_.size());
  }
  write_active_ = true;
  ws_.async_write(out, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_written(ec);
  });
}

void ws_session::on_written(beast::error_code ec) {
  std::string().swap(payload_);
  // Popped before any callback runs: a callback may send or close, which must find the
  // queue without the written messages (and, the write still counting as active, only
  // queues: the next write starts below).
  const std::size_t count = writing_;
  auto& written = written_;
  written.clear();
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    written.push_back(std::move(queue_.front()));
    queue_.pop_front();
    queued_bytes_ -= written.back().size();
    bytes += written.back().size();
  }
  writing_ = 0;
  for (auto& done : written) {
    if (ec) {
      drop(done);
    } else if (done.on_done) {
      done.on_done(true);
    }
  }
  written.clear();  // releases the messages
  // Both vectors are reused from write to write, but a burst's batch (a snapshot, up to
  // max_batch_messages) does not size them for the rest of the connection's life: kept,
  // they could hold up to 48 KiB per idle session after a large snapshot.
  if (written.capacity() > kept_batch_capacity) std::vector<ws_message>().swap(written);
  if (write_buffers_.capacity() > 2 * kept_batch_capacity + 2)
    std::vector<asio::const_buffer>().swap(write_buffers_);
  write_active_ = false;
  if (ec) {
    if (!is_normal_end(ec)) spdlog::debug("websocket write failed: {}", ec.message());
    closed_ = true;
  } else if (options_.metrics) {
    options_.metrics->messages_sent->add(count);
    options_.metrics->bytes_sent->add(bytes);
  }
  pump_writes();
}

void ws_session::drop_queue() noexcept {
  while (!queue_.empty()) {
    drop(queue_.front());
    queue_.pop_front();
  }
  queued_bytes_ = 0;
}

void ws_session::drop(ws_message& m) noexcept {
  if (m.on_done) {
    auto f = std::move(m.on_done);
    m.on_done = nullptr;
    f(false);
  }
}

void ws_session::send(std::shared_ptr<const std::string> message) {
  send(ws_message{nullptr, std::move(message), nullptr});
}

void ws_session::send(ws_message message) {
  asio::dispatch(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
    self->enqueue(std::move(m));
    self->pump_writes();
  });
}

void ws_session::send(std::vector<ws_message> batch) {
  asio::dispatch(ws_.get_executor(), [self = shared_from_this(), b = std::move(batch)]() mutable {
    // All of them queued before the write starts: they go out together, not the first alone.
    for (auto& m : b) self->enqueue(std::move(m));
    self->pump_writes();
  });
}

void ws_session::enqueue(ws_message message) {
  if (closed_ || close_requested_) {
    drop(message);
    return;
  }
  if (queue_.size() + 1 > options_.send_queue_messages ||
      queued_bytes_ + message.size() > options_.send_queue_bytes) {
    spdlog::warn("websocket send queue over its limit ({} messages, {} bytes): closing with {}",
                 queue_.size(), queued_bytes_, ws_close::slow_consumer);
    if (options_.metrics) options_.metrics->queue_overflows->add();
    drop(message);
    request_close(ws_close::slow_consumer, "send queue overflow: reconnect with your cursor");
    return;
  }
  queued_bytes_ += message.size();
  queue_.push_back(std::move(message));
}

void ws_session::close(std::uint16_t code, std::string reason) {
  asio::dispatch(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)]() mutable {
    self->request_close(code, std::move(r));
  });
}

void ws_session::shutdown() {
  asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
    self->shutdown_pending_ = true;
    if (self->holds_ == 0) self->release_shutdown();
  });
}

void ws_session::release() {
  if (holds_ > 0) --holds_;
  if (holds_ == 0 && shutdown_pending_) release_shutdown();
}

void ws_session::release_shutdown() {
  request_close(ws_close::service_restart, "server restarting: reconnect", true);
}

void ws_session::request_close(std::uint16_t code, std::string reason, bool flush) {
  if (closed_ || close_requested_) return;
  // A close frame's reason holds at most 123 bytes.
  close_requested_.emplace(static_cast<boost::beast::websocket::close_code>(code),
                           std::string_view(reason).substr(0, 123));
  if (flush) {
    // Nothing new is queued from now on (enqueue drops it); what is queued goes out first.
    flush_before_close_ = true;
    pump_writes();
    return;
  }
  // Whatever is still queued is dropped (a client resumes from its cursor); the messages in
  // flight, if any, stay at the front until their write completes.
  while (queue_.size() > writing_) {
    queued_bytes_ -= queue_.back().size();
    drop(queue_.back());
    queue_.pop_back();
  }
  pump_writes();
}

}  // namespace fieldsync::server
