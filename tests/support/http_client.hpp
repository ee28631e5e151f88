#pragma once
// Real-socket HTTP and WebSocket clients for e2e tests (Beast, each call bounded in time).

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::test {

using headers = std::vector<std::pair<std::string, std::string>>;

struct http_reply {
  unsigned status = 0;
  boost::beast::http::fields fields;
  std::string body;

  std::string header(std::string_view name) const;
  boost::json::value json() const;  // parses body; fails the test if it is not JSON
};

// One request on a fresh connection. Throws on connection failure or timeout.
http_reply http_call(std::uint16_t port, boost::beast::http::verb method, std::string target,
                     std::string body = {}, const headers& extra = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Percent-encodes everything but RFC 3986's unreserved characters (for query values).
std::string url_encode(std::string_view s);

// Sends raw bytes and returns what the server answered before closing (or the timeout).
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

class ws_client {
 public:
  // Connects and upgrades. Throws (with the HTTP status when the server refused) on failure.
  ws_client(std::uint16_t port, std::string target = "/v1/ws",
            std::optional<std::string> subprotocol = "fieldsync.v1", const headers& extra = {});

  void send(const std::string& text);
  // The next text message, or nullopt when the connection closed (see close_code()). The
  // messages of a batch come one by one, as a client handles them. Throws when the
  // timeout passes first; the message then comes with the next call.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void close();
  std::uint16_t close_code() const;  // after receive() returned nullopt
  std::string negotiated_subprotocol() const { return subprotocol_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  bool reading_ = false;  // a read is in flight (it outlives a receive() that timed out)
  bool read_done_ = false;
  boost::system::error_code read_error_;
  std::deque<std::string> pending_;  // the rest of a batch, given out one by one
  std::string subprotocol_;
};

}  // namespace fieldsync::test
