// The WebSocket endpoint of the real binary: subprotocol, message layer, limits, shutdown.

#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <csignal>

using namespace fieldsync::test;
namespace json = boost::json;

TEST_CASE("the WebSocket speaks fieldsync.v1: ping/pong and errors", "[e2e][ws]") {
  fresh_database db;
  server_process server(db.conninfo());
  ws_client ws(server.public_port());
  CHECK(ws.negotiated_subprotocol() == "fieldsync.v1");

  ws.send(R"({"type":"ping","id":7})");
  auto pong = json::parse(ws.receive().value());
  CHECK(pong.at("type") == "pong");
  CHECK(pong.at("id") == 7);

  ws.send("{not json");
  auto bad = json::parse(ws.receive().value());
  CHECK(bad.at("type") == "error");
  CHECK(bad.at("code") == "bad_json");

  ws.send(R"({"type":"teleport","id":"x"})");
  auto unknown = json::parse(ws.receive().value());
  CHECK(unknown.at("code") == "unknown_type");
  CHECK(unknown.at("id") == "x");

  ws.send(R"([1,2,3])");
  CHECK(json::parse(ws.receive().value()).at("code") == "bad_message");

  // Still alive after the errors.
  ws.send(R"({"type":"ping"})");
  CHECK(json::parse(ws.receive().value()).at("type") == "pong");
  ws.close();
  CHECK(server.terminate() == 0);
}

TEST_CASE("an upgrade without the subprotocol, or on the admin listener, is refused",
          "[e2e][ws]") {
  fresh_database db;
  server_process server(db.conninfo());
  CHECK_THROWS_WITH(ws_client(server.public_port(), "/v1/ws", std::nullopt),
                    Catch::Contains("HTTP 400") && Catch::Contains("unsupported_subprotocol"));
  CHECK_THROWS_WITH(ws_client(server.public_port(), "/v1/ws", "graphql-ws"),
                    Catch::Contains("HTTP 400"));
  CHECK_THROWS_WITH(ws_client(server.admin_port(), "/v1/ws"), Catch::Contains("HTTP 404"));
  CHECK_THROWS_WITH(ws_client(server.public_port(), "/elsewhere"), Catch::Contains("HTTP 404"));
  CHECK(server.terminate() == 0);
}

TEST_CASE("a message over the limit closes the WebSocket with 1009", "[e2e][ws]") {
  fresh_database db;
  server_process server(db.conninfo(), "[websocket]\nmax_message_bytes = 4096\n");
  ws_client ws(server.public_port());
  ws.send(R"({"type":"ping","pad":")" + std::string(8192, 'x') + "\"}");
  CHECK_FALSE(ws.receive());
  CHECK(ws.close_code() == 1009);
  // Other clients are unaffected.
  ws_client other(server.public_port());
  other.send(R"({"type":"ping"})");
  CHECK(other.receive());
  CHECK(server.terminate() == 0);
}

TEST_CASE("SIGTERM closes WebSockets with 1012 service restart and exits 0",
          "[e2e][ws][shutdown]") {
  fresh_database db;
  server_process server(db.conninfo());
  ws_client ws(server.public_port());
  ws.send(R"({"type":"ping"})");
  REQUIRE(ws.receive());
  server.process().signal(SIGTERM);
  CHECK_FALSE(ws.receive());
  CHECK(ws.close_code() == 1012);  // reconnect elsewhere (docs/protocol.md, "Close codes")
  auto code = server.process().wait_exit(std::chrono::seconds(30));
  REQUIRE(code);
  CHECK(*code == 0);
}
