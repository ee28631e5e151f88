#include "tests/support/http_client.hpp"

#include "protocol/json_parse.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace fieldsync::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

namespace {

tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

// Runs the io_context until `done` or the timeout; throws on timeout.
template <typename Done>
void run_until(asio::io_context& ioc, Done done, std::chrono::milliseconds timeout,
               const char* what) {
  ioc.restart();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (ioc.run_one_until(deadline) == 0 && std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(std::string("timed out: ") + what);
    }
  }
}

}  // namespace

std::string http_reply::header(std::string_view name) const {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : std::string(it->value());
}

boost::json::value http_reply::json() const {
  // Exactly: tests compare values with PostgreSQL's (Boost.JSON's parser rounds doubles).
  auto v = protocol::parse_json_exact(body, 256);
  if (!v) throw std::runtime_error("response body is not JSON: " + body);
  return std::move(*v);
}

http_reply http_call(std::uint16_t port, http::verb method, std::string target,
                     std::string body, const headers& extra,
                     std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  stream.connect(loopback(port));

  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : extra) req.set(k, v);
  if (!body.empty() || method == http::verb::post || method == http::verb::put) {
    req.body() = std::move(body);
    req.prepare_payload();
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == http::verb::head) parser.skip(true);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  bool done = false;
  http::async_write(stream, req, [&](boost::system::error_code wec, std::size_t) {
    if (wec) { ec = wec; done = true; return; }
    http::async_read(stream, buffer, parser, [&](boost::system::error_code rec, std::size_t) {
      ec = rec;
      done = true;
    });
  });
  run_until(ioc, [&] { return done; }, timeout, "http request");
  if (ec) throw std::runtime_error("http " + target + ": " + ec.message());
  auto res = parser.release();
  http_reply out;
  out.status = res.result_int();
  for (const auto& f : res) out.fields.insert(f.name_string(), f.value());
  out.body = std::move(res.body());
  return out;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(loopback(port));
  asio::write(socket, asio::buffer(bytes));
  std::string out;
  char buf[4096];
  bool done = false;
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
      out.append(buf, n);
      if (ec) { done = true; return; }
      read_more();
    });
  };
  read_more();
  try {
    run_until(ioc, [&] { return done; }, timeout, "raw exchange");
  } catch (const std::runtime_error&) {
    // The server kept the connection open: return what it said so far.
  }
  return out;
}

ws_client::ws_client(std::uint16_t port, std::string target,
                     std::optional<std::string> subprotocol, const headers& extra)
    : ws_(ioc_) {
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws_).connect(loopback(port));
  ws_.set_option(websocket::stream_base::decorator([subprotocol, extra](websocket::request_type& req) {
    if (subprotocol) req.set(http::field::sec_websocket_protocol, *subprotocol);
    for (const auto& [k, v] : extra) req.set(k, v);
  }));
  websocket::response_type res;
  boost::system::error_code ec;
  bool done = false;
  ws_.async_handshake(res, "127.0.0.1:" + std::to_string(port), target,
                      [&](boost::system::error_code hec) { ec = hec; done = true; });
  run_until(ioc_, [&] { return done; }, std::chrono::seconds(30), "websocket handshake");
  if (ec) {
    throw std::runtime_error("websocket handshake refused: HTTP " +
                             std::to_string(res.result_int()) + " " + res.body());
  }
  beast::get_lowest_layer(ws_).expires_never();
  subprotocol_ = std::string(res[http::field::sec_websocket_protocol]);
}

void ws_client::send(const std::string& text) {
  ws_.text(true);
  boost::system::error_code ec;
  bool done = false;
  ws_.async_write(asio::buffer(text), [&](boost::system::error_code wec, std::size_t) {
    ec = wec;
    done = true;
  });
  run_until(ioc_, [&] { return done; }, std::chrono::seconds(30), "websocket write");
  if (ec) throw std::runtime_error("websocket write: " + ec.message());
}

std::optional<std::string> ws_client::receive(std::chrono::milliseconds timeout) {
  if (!pending_.empty()) {
    std::string next = std::move(pending_.front());
    pending_.pop_front();
    return next;
  }
  // A read that times out stays in flight, and the next receive() waits for the same
  // read: cancelling it could lose a message Beast had half read (or wholly read, once
  // the cancel came too late), and leave the stream unusable.
  if (!reading_) {
    buffer_.clear();
    reading_ = true;
    read_done_ = false;
    ws_.async_read(buffer_, [this](boost::system::error_code rec, std::size_t) {
      read_error_ = rec;
      read_done_ = true;
    });
  }
  run_until(
      ioc_, [this] { return read_done_; }, timeout, "websocket read");
  reading_ = false;
  if (read_error_) return std::nullopt;
  std::string text = beast::buffers_to_string(buffer_.data());
  if (!text.starts_with(R"({"type":"batch")")) return text;
  // A batch is its messages, in order (docs/protocol.md, "Batches").
  auto parsed = protocol::parse_json_exact(text, 256);
  if (!parsed || !parsed->is_object()) throw std::runtime_error("malformed batch: " + text.substr(0, 200));
  const auto batch = std::move(parsed->as_object());
  const auto& messages = batch.at("messages").as_array();
  if (batch.size() != 2 || messages.size() < 2) {
    throw std::runtime_error("malformed batch: " + text.substr(0, 200));
  }
  for (const auto& m : messages) {
    const auto* type = m.as_object().if_contains("type");
    if (type && *type == "batch") throw std::runtime_error("a batch inside a batch");
    pending_.push_back(boost::json::serialize(m));
  }
  return receive(timeout);
}

void ws_client::close() {
  bool done = false;
  ws_.async_close(websocket::close_code::normal, [&](boost::system::error_code) { done = true; });
  run_until(ioc_, [&] { return done; }, std::chrono::seconds(10), "websocket close");
}

std::uint16_t ws_client::close_code() const { return ws_.reason().code; }

}  // namespace fieldsync::test
