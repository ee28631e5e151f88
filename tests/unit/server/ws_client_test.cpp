// The tests' own WebSocket client: a read that times out keeps the message it was reading
// (a message lost there looked like a gap in the server's delivery, in the cluster tests).

#include "tests/support/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace std::chrono_literals;

TEST_CASE("a message still arriving when a receive times out comes whole with the next",
          "[ws][test-client]") {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  const std::string first(20000, 'a');
  const std::string second(20000, 'b');
  std::thread server([&] {
    beast::websocket::stream<asio::ip::tcp::socket> ws(acceptor.accept());
    ws.accept();
    ws.text(true);
    // One message in two frames, the second long after the first.
    ws.write_some(false, asio::buffer(first));
    std::this_thread::sleep_for(500ms);
    ws.write_some(true, asio::buffer(second));
    beast::flat_buffer b;
    beast::error_code ec;
    while (!ec) ws.read(b, ec);  // until the client closes
  });
  {
    fieldsync::test::ws_client client(acceptor.local_endpoint().port(), "/", std::nullopt);
    CHECK_THROWS(client.receive(100ms));  // mid-message
    auto whole = client.receive(10s);
    REQUIRE(whole.has_value());
    CHECK(whole->size() == first.size() + second.size());
    CHECK(*whole == first + second);
    client.close();
  }
  server.join();
}
