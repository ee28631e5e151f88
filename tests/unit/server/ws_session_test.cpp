// ws_session over real loopback sockets, without a database: the bounded send queue, batches,
// and reading messages whatever their size and framing.

#include "server/net/connection_registry.hpp"
#include "server/net/ws_session.hpp"

#include "tests/support/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace fieldsync::server;
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// On "flood", queues `count` messages of `size` bytes at once, faster than any client reads:
// {"i":<n>,"p":"mmm..."}, numbered from 0.
class flood_handler final : public ws_handler {
 public:
  flood_handler(std::size_t count, std::size_t size) : count_(count), size_(size) {}
  void on_message(ws_session& s, std::string_view text) override {
    if (text != "flood") return;
    for (std::size_t i = 0; i < count_; ++i) {
      std::string m = "{\"i\":" + std::to_string(i) + ",\"p\":\"";
      m.append(size_ - m.size() - 2, 'm');
      s.send(m + "\"}");
    }
  }

 private:
  std::size_t count_;
  std::size_t size_;
};

// Sends every text message back as it came.
class echo_handler final : public ws_handler {
 public:
  void on_message(ws_session& s, std::string_view text) override { s.send(std::string(text)); }
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
          co_await ws_session::run(stream.release_socket(), std::move(buffer), std::move(req), opts,
                                   handler, registry);
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

// A plain Beast client with the upgrade done, for tests that look at frames.
beast::websocket::stream<beast::tcp_stream> open_plain_client(asio::io_context& ioc,
                                                              std::uint16_t port) {
  beast::websocket::stream<beast::tcp_stream> ws(ioc);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  ws.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& r) {
    r.set(http::field::sec_websocket_protocol, ws_subprotocol);
  }));
  ws.handshake("127.0.0.1", "/v1/ws");
  return ws;
}

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
    CHECK(m->starts_with("{\"i\":" + std::to_string(i) + ","));
  }
  client.close();
}

TEST_CASE("queued messages go out in batches of at most batch_bytes, in order", "[ws][batch]") {
  ws_options opts;
  opts.send_queue_messages = 1000;
  opts.batch_bytes = 4096;
  test_server server(opts, std::make_shared<flood_handler>(500, 1000));
  // A plain Beast client, to see the frames as they come.
  asio::io_context ioc;
  auto ws = open_plain_client(ioc, server.port());
  ws.write(asio::buffer(std::string("flood")));
  std::size_t next = 0, batches = 0;
  while (next < 500) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    auto text = beast::buffers_to_string(buffer.data());
    REQUIRE(text.size() <= opts.batch_bytes);
    auto v = boost::json::parse(text).as_object();
    if (v.contains("type")) {
      CHECK(v.at("type") == "batch");
      ++batches;
      for (const auto& m : v.at("messages").as_array()) CHECK(m.at("i") == next++);
    } else {
      CHECK(v.at("i") == next++);
    }
  }
  CHECK(batches > 0);  // 500 messages queued at once do not go out one by one
  ws.close(beast::websocket::close_code::normal);
}

// The read loop waits for a message with a small buffer and reads the rest as it comes
// (ws_session::read_loop): sizes around that first read and a message in several frames,
// with a ping between them, must arrive whole; a fragmented message over the limit ends the
// session with 1009 all the same.
TEST_CASE("messages arrive whole whatever their size and framing", "[ws][read]") {
  ws_options opts;
  opts.max_message_bytes = 4096;
  test_server server(opts, std::make_shared<echo_handler>());
  asio::io_context ioc;
  auto ws = open_plain_client(ioc, server.port());
  ws.text(true);
  auto echoed = [&ws] {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  };

  for (std::size_t size : {1, 127, 128, 129, 1535, 1536, 1537, 4096}) {
    std::string m(size, static_cast<char>('a' + size % 26));
    ws.write(asio::buffer(m));
    CHECK(echoed() == m);
  }

  std::string whole;
  for (int i = 0; i < 3000; ++i) whole += static_cast<char>('a' + i % 26);
  ws.write_some(false, asio::buffer(whole.data(), 100));
  ws.ping({});
  ws.write_some(false, asio::buffer(whole.data() + 100, 1900));
  ws.write_some(true, asio::buffer(whole.data() + 2000, 1000));
  CHECK(echoed() == whole);

  const std::string half(3000, 'y');
  ws.write_some(false, asio::buffer(half));
  ws.write_some(true, asio::buffer(half));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  // The close frame arrives; the server may then reset the connection before the client's
  // own close goes out, so the read ends with closed or a socket error.
  CHECK(ec);
  CHECK(ws.reason().code == beast::websocket::close_code::too_big);
}
