#include "server/net/http_session.hpp"

#include "server/net/request_reader.hpp"
#include "server/net/response_writer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

// The answer to a request that could not be read, or nothing when the peer just left.
std::optional<http_response> answer_read_error(const boost::system::error_code& ec,
                                               const http_limits& limits) {
  std::optional<http_response> res;
  switch (classify_read_error(ec)) {
    case request_read_failure::headers_too_large:
      res = error_response(http::status::request_header_fields_too_large, "headers_too_large",
                           "the request line, the headers, a chunk-size line or the trailers "
                           "exceed " +
                               std::to_string(limits.max_header_bytes) + " bytes");
      break;
    case request_read_failure::body_too_large:
      res = error_response(
          http::status::payload_too_large, "body_too_large",
          "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
      break;
    case request_read_failure::malformed:
      res = error_response(http::status::bad_request, "bad_request",
                           "malformed HTTP request: " + ec.message());
      break;
    case request_read_failure::peer_gone:
      break;
  }
  return res;
}

// Reads one request into `parser`. A keep-alive connection waits up to keepalive_timeout
// for the first byte of its next request; from that byte on (on a fresh connection, from
// the accept) the whole request, headers and body, must arrive within request_timeout: one
// deadline for all of it, so a client that trickles bytes is cut when it runs out.
// `idle` stays true until the headers are in (shutdown may cut the read until then).
asio::awaitable<boost::system::error_code> read_request(beast::tcp_stream& stream,
                                                        beast::flat_buffer& buffer,
                                                        request_parser& parser,
                                                        const http_limits& limits, bool first,
                                                        bool& idle) {
  idle = true;
  if (!first && buffer.size() == 0) {
    stream.expires_after(limits.keepalive_timeout);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 4096)),
                                                   as_tuple(use_awaitable));
    buffer.commit(n);
    if (ec) co_return ec;
  }
  stream.expires_after(limits.request_timeout);
  auto [hec, hn] =
      co_await http::async_read_header(stream, buffer, parser, as_tuple(use_awaitable));
  idle = false;
  if (hec || parser.is_done()) co_return hec;
  auto [bec, bn] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
  co_return bec;
}

// Chunked writes straight to the session's socket, each within the request timeout.
class chunked_stream final : public response_stream {
 public:
  chunked_stream(beast::tcp_stream& stream, std::chrono::milliseconds timeout)
      : stream_(stream), timeout_(timeout) {}

  asio::awaitable<bool> async_begin(http::response_header<> header) override {
    started_ = true;
    http::response<http::empty_body> res{std::move(header)};
    res.chunked(true);
    keep_alive_ = res.keep_alive();
    http::response_serializer<http::empty_body> sr{res};
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await http::async_write_header(stream_, sr, as_tuple(use_awaitable));
    if (ec) failed_ = true;
    co_return !failed_;
  }

  asio::awaitable<bool> async_write(std::string_view data) override {
    if (failed_ || data.empty()) co_return !failed_;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(
        stream_, http::make_chunk(asio::buffer(data.data(), data.size())), as_tuple(use_awaitable));
    if (ec) failed_ = true;
    co_return !failed_;
  }

  asio::awaitable<bool> async_end() override {
    if (failed_) co_return false;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(),
                                              as_tuple(use_awaitable));
    if (ec) failed_ = true;
    co_return !failed_;
  }

  bool keep_alive() const noexcept { return keep_alive_ && !failed_; }

 private:
  beast::tcp_stream& stream_;
  std::chrono::milliseconds timeout_;
  bool keep_alive_ = false;
};

}  // namespace

http_session::http_session(asio::ip::tcp::socket socket,
                           std::shared_ptr<const listener_context> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)) {}

asio::awaitable<void> http_session::run(asio::ip::tcp::socket socket,
                                        std::shared_ptr<const listener_context> ctx) {
  std::optional<ws_upgrade> upgrade;
  {
    auto self = std::make_shared<http_session>(std::move(socket), ctx);
    self->registration_.attach(*ctx->registry, self);
    auto served = co_await self->serve();
    if (served) upgrade.emplace(std::move(*served));
  }
  // The WebSocket session runs after the HTTP session, its stream and the frame of serve()
  // are released: an idle WebSocket connection keeps none of them (docs/fanout.md, "Memory").
  if (!upgrade) co_return;
  co_await ws_session::run(std::move(upgrade->socket), std::move(upgrade->already_read),
                           std::move(upgrade->request), ctx->websocket_options, ctx->websocket,
                           *ctx->registry);
}

asio::awaitable<std::optional<http_session::ws_upgrade>> http_session::serve() {
  auto self = shared_from_this();
  // Bounded: see request_reader.hpp. The same buffer serves every request of the connection.
  beast::flat_buffer buffer = make_request_buffer(ctx_->limits.max_header_bytes);
  bool first = true;
  while (!stopping_) {
    request_parser parser;
    limit_request_parser(parser, ctx_->limits.max_header_bytes, ctx_->limits.max_body_bytes);
    auto ec = co_await read_request(stream_, buffer, parser, ctx_->limits, first, idle_);
    first = false;
    if (ec) {
      if (auto res = answer_read_error(ec, ctx_->limits)) {
        // The rest of the request is unread: the connection cannot carry another one.
        res->keep_alive(false);
        stream_.expires_after(ctx_->limits.request_timeout);
        co_await http::async_write(stream_, *res, as_tuple(use_awaitable));
      }
      break;
    }

    http_request req = parser.release();
    if (beast::websocket::is_upgrade(req)) {
      std::string_view path = req.target().substr(0, req.target().find('?'));
      if (ctx_->websocket && path == "/v1/ws") {
        // The WebSocket session takes the socket; this HTTP session ends here. What was
        // read past the request already belongs to the WebSocket (a client may send its
        // first frames right behind the upgrade request).
        registration_.detach();
        ws_upgrade upgrade{stream_.release_socket(), std::move(buffer), std::move(req)};
        co_return std::move(upgrade);
      }
      auto res = error_response(req, http::status::not_found, "not_found",
                                "no WebSocket endpoint at " + std::string(path));
      res.keep_alive(false);
      co_await http::async_write(stream_, res, as_tuple(use_awaitable));
      break;
    }

    chunked_stream streamed(stream_, ctx_->limits.request_timeout);
    bool can_stream = req.method() != http::verb::head && req.version() >= 11;
    http_response res = co_await ctx_->routes->dispatch(req, can_stream ? &streamed : nullptr);
    if (streamed.started()) {
      if (!streamed.keep_alive() || stopping_) break;
      continue;
    }
    if (stopping_) res.keep_alive(false);
    if (req.method() == http::verb::head) {
      // HEAD: the GET headers, including its Content-Length, without the body.
      res.content_length(res.body().size());
      res.body().clear();
    }
    bool keep_alive = res.keep_alive();
    stream_.expires_after(ctx_->limits.request_timeout);
    auto wec = co_await async_write_response(stream_, res);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  co_return std::nullopt;
}

void http_session::shutdown() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    if (self->idle_) self->stream_.cancel();
  });
}

}  // namespace fieldsync::server
