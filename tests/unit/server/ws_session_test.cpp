// ws_session over real loopback sockets, without a database: the bounded send queue.

#include "server/connection_registry.hpp"
#include "server/ws_session.hpp"

#include "tests/support/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace fieldsync::server;
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// On "flood", queues `count` messages of `size` bytes at once, faster than any client reads.
class flood_handler final : public ws_handler {
 public:
  flood_handler(std::size_t count, std::size_t size) : count_(count), size_(size) {}
  void on_message(ws_session& s, std::string_view text) override {
    if (text != "flood") return;
    auto message = std::make_shared<const std::string>(size_, 'm');
    for (std::size_t i = 0; i < count_; ++i) s.send(message);  // one buffer, shared
  }

 private:
  std::size_t count_;
  std::size_t size_;
};

// A server with one WebSocket endpoint on a thread of its own.
struct test_server {
  // Declared first, destroyed last: sessions still in the io_context unregister on
  // destruction.
  connection_registry registry;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread;

  test_server(ws_options opts, std::shared_ptr<ws_handler> handler) {
    asio::co_spawn(
        ioc,
        [this, opts, handler]() -> asio::awaitable<void> {
          auto socket = co_await acceptor.async_accept(asio::use_awaitable);
          beast::tcp_stream stream(std::move(socket));
          beast::flat_buffer buffer;
          http_request req;
          co_await http::async_read(stream, buffer, req, asio::use_awaitable);
          co_await ws_session::run(std::move(stream), std::move(req), opts, handler, registry);
        },
        asio::detached);
    thread = std::thread([this] { ioc.run(); });
  }
  ~test_server() {
    ioc.stop();
    thread.join();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
};

}  // namespace

TEST_CASE("a send queue over its message limit closes the session with 4008", "[ws][backpressure]") {
  ws_options opts;
  opts.send_queue_messages = 8;
  opts.send_queue_bytes = 1 << 20;
  test_server server(opts, std::make_shared<flood_handler>(1000, 1024));
  fieldsync::test::ws_client client(server.port());
  client.send("flood");
  std::size_t received = 0;
  while (client.receive()) ++received;
  CHECK(client.close_code() == 4008);
  CHECK(received <= opts.send_queue_messages);
}

TEST_CASE("a send queue over its byte limit closes the session with 4008", "[ws][backpressure]") {
  ws_options opts;
  opts.send_queue_messages = 1000;
  opts.send_queue_bytes = 64 * 1024;
  test_server server(opts, std::make_shared<flood_handler>(100, 16 * 1024));
  fieldsync::test::ws_client client(server.port());
  client.send("flood");
  std::size_t received = 0;
  while (client.receive()) ++received;
  CHECK(client.close_code() == 4008);
  CHECK(received * 16 * 1024 <= opts.send_queue_bytes);
}

TEST_CASE("messages within the limits all arrive, in order", "[ws][backpressure]") {
  ws_options opts;
  opts.send_queue_messages = 64;
  test_server server(opts, std::make_shared<flood_handler>(64, 100));
  fieldsync::test::ws_client client(server.port());
  client.send("flood");
  for (int i = 0; i < 64; ++i) {
    auto m = client.receive();
    REQUIRE(m);
    CHECK(m->size() == 100);
  }
  client.close();
}
