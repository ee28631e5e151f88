// A client that negotiates permessage-deflate, as every browser does (issue 16: the
// compressor's settings in server/net/ws_session.cpp). The server answers with 12-bit
// windows and client_no_context_takeover; snapshots and changes arrive compressed and
// exact (a 200 kB value, text that compresses and text that does not); the client's own
// messages, each compressed afresh, are understood one after another.

#include "tests/support/feed_workload.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_token.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>

using namespace fieldsync::test;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

namespace {

std::string sections() {
  return test_auth_toml() +
         "[collections.z_notes]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"owner = $claims.sub\"\n";
}

// Text that does not compress: random letters.
std::string noise(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::string s(n, ' ');
  for (auto& c : s) c = static_cast<char>(letter(rng));
  return s;
}

class deflate_client {
 public:
  explicit deflate_client(std::uint16_t port) : ws_(ioc_) {
    tcp::resolver resolver(ioc_);
    beast::get_lowest_layer(ws_).connect(resolver.resolve("127.0.0.1", std::to_string(port)));
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;  // offers it with the defaults, as a browser does
    ws_.set_option(pmd);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, "fieldsync.v1");
    }));
    ws_.handshake(response_, "127.0.0.1", "/v1/ws");
    ws_.text(true);
  }

  std::string extensions() const {
    return std::string(response_[beast::http::field::sec_websocket_extensions]);
  }
  void send(const std::string& text) { ws_.write(boost::asio::buffer(text)); }
  // The next message as JSON; the messages of a batch one by one.
  json::object next() {
    if (pending_.empty()) {
      beast::flat_buffer buffer;
      ws_.read(buffer);
      auto m = json::parse(beast::buffers_to_string(buffer.data())).as_object();
      if (m.at("type") == "batch") {
        for (auto& e : m.at("messages").as_array()) pending_.push_back(e.as_object());
      } else {
        pending_.push_back(std::move(m));
      }
    }
    auto m = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return m;
  }
  json::object next_of(const std::string& type) {
    for (;;) {
      auto m = next();
      if (m.at("type").as_string() == type) return m;
      INFO(json::serialize(m));
      REQUIRE(m.at("type") != "error");
    }
  }

 private:
  boost::asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::response_type response_;
  std::vector<json::object> pending_;
};

}  // namespace

TEST_CASE("e2e: permessage-deflate as browsers negotiate it: exact values both ways", "[e2e][ws]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  const std::string big = std::string(100'000, 'x') + noise(100'000, 1);
  exec_sql(dsn,
           "CREATE TABLE z_notes (id int PRIMARY KEY, owner text NOT NULL, body text NOT NULL);"
           "INSERT INTO z_notes SELECT g, 'u1', repeat('visit notes ', g) FROM "
           "generate_series(1, 300) g;"
           "INSERT INTO z_notes VALUES (1000, 'u1', '" +
               big + "')");
  server_process server(dsn, sections());

  deflate_client c(server.public_port());
  const auto ext = c.extensions();
  INFO("Sec-WebSocket-Extensions: " << ext);
  CHECK(ext.find("permessage-deflate") != std::string::npos);
  CHECK(ext.find("client_no_context_takeover") != std::string::npos);
  CHECK(ext.find("server_max_window_bits=12") != std::string::npos);

  c.send(R"({"type":"hello","protocol":1,"client_id":"deflate","token":")" +
         hs256_token({{"sub", "u1"}}) + "\"}");
  c.next_of("welcome");
  std::map<std::int64_t, std::string> rows;
  // Right after the start the collection may still be copied into the log: `unavailable`,
  // and the client subscribes again, as clients do.
  for (int attempt = 0; attempt < 100; ++attempt) {
    c.send(R"({"type":"subscribe","id":"n","collection":"z_notes"})");
    rows.clear();
    bool live = false;
    for (;;) {
      auto m = c.next();
      if (m.at("type") == "up-to-date") {
        live = true;
        break;
      }
      INFO(json::serialize(m).substr(0, 300));
      if (m.at("type") == "error") {
        REQUIRE(m.at("code") == "unavailable");
        break;
      }
      if (m.at("type") != "snapshot") continue;
      for (const auto& r : m.at("rows").as_array()) {
        const auto& row = r.as_object().at("row").as_object();
        rows[row.at("id").as_int64()] = std::string(row.at("body").as_string());
      }
    }
    if (live) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(rows.size() == 301);
  CHECK(rows.at(7) == [] {
    std::string s;
    for (int i = 0; i < 7; ++i) s += "visit notes ";
    return s;
  }());
  CHECK(rows.at(1000) == big);

  // A change, compressed with the connection's context.
  const std::string fresh = noise(5'000, 2) + std::string(5'000, 'y');
  exec_sql(dsn, "UPDATE z_notes SET body = '" + fresh + "' WHERE id = 1000");
  auto change = c.next_of("change");
  CHECK(change.at("row").as_object().at("body").as_string() == fresh);

  // The client's messages, each compressed from a fresh context, one after another.
  for (int i = 0; i < 20; ++i) {
    c.send(R"({"type":"ping","id":)" + std::to_string(i) + "}");
    auto pong = c.next_of("pong");
    CHECK(pong.at("id").as_int64() == i);
  }
  CHECK(server.terminate() == 0);
}
