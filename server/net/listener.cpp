#include "server/net/listener.hpp"

#include "server/core/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::as_tuple;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

std::string describe(const tcp::endpoint& ep) {
  auto addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

// Over max_connections: say so and hang up, instead of leaving the client to time out.
asio::awaitable<void> refuse(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  auto res = error_response(http::status::service_unavailable, "too_many_connections",
                            "the server is at its connection limit; retry later");
  res.set(http::field::retry_after, "1");
  stream.expires_after(std::chrono::seconds(5));
  co_await http::async_write(stream, res, as_tuple(use_awaitable));
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// A session that holds its place in the listener's budget until it ends, WebSocket
// included (the HTTP session awaits the WebSocket it upgraded to).
asio::awaitable<void> counted_session([[maybe_unused]] connection_budget::slot slot,
                                      tcp::socket socket,
                                      std::shared_ptr<const listener_context> ctx) {
  co_await http_session::run(std::move(socket), std::move(ctx));
}

}  // namespace

listener::listener(asio::io_context& ioc, std::shared_ptr<const listener_context> ctx,
                   std::size_t max_connections)
    : ioc_(ioc),
      acceptor_(ioc),
      ctx_(std::move(ctx)),
      budget_(std::make_shared<connection_budget>(max_connections)) {}

std::shared_ptr<listener> listener::bind(asio::io_context& ioc, const tcp::endpoint& endpoint,
                                         std::shared_ptr<const listener_context> ctx,
                                         std::size_t max_connections) {
  auto l = std::make_shared<listener>(ioc, ctx, max_connections);
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    throw std::runtime_error("cannot listen on " + describe(endpoint) + " (" + ctx->name +
                             "): " + what + ": " + ec.message());
  };
  l->acceptor_.open(endpoint.protocol(), ec);
  if (ec) fail("open");
  l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail("setsockopt");
  l->acceptor_.bind(endpoint, ec);
  if (ec) fail("bind");
  l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  return l;
}

void listener::start() {
  spdlog::info("listening: {} {}", ctx_->name, describe(local_endpoint()));
  spawn_logged(ioc_, [self = shared_from_this()] { return self->accept_loop(); }, "accept loop");
}

void listener::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

tcp::endpoint listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

asio::awaitable<void> listener::accept_loop() {
  auto self = shared_from_this();
  while (acceptor_.is_open()) {
    auto strand = asio::make_strand(ioc_);
    auto [ec, socket] = co_await acceptor_.async_accept(strand, as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // Out of descriptors and the like: keep serving the connections we have, retry soon.
      spdlog::warn("{} listener: accept failed: {}", ctx_->name, ec.message());
      asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
      co_await pause.async_wait(as_tuple(use_awaitable));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto slot = budget_->try_acquire();
    if (!slot) {
      spawn_logged(strand, refuse(std::move(socket)), "refusal of a connection");
      continue;
    }
    // The socket, not a beast::tcp_stream, is handed on: moving a tcp_stream allocates a new
    // implementation and leaves the old one alive in the frame it was moved from, which
    // cost every idle WebSocket connection about 3 KiB (docs/fanout.md, "Memory").
    spawn_logged(strand, counted_session(std::move(*slot), std::move(socket), ctx_),
                 "HTTP session");
  }
  spdlog::debug("{} listener closed", ctx_->name);
}

}  // namespace fieldsync::server
