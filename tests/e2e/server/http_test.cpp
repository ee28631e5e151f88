// The public and admin HTTP listeners of the real binary, over real sockets.

#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::test;
namespace http = boost::beast::http;

namespace {

void check_error_body(const http_reply& r, std::string_view code) {
  CHECK(r.header("Content-Type") == "application/json");
  auto body = r.json();
  CHECK(body.at("error").at("code").as_string() == code);
  CHECK_FALSE(body.at("error").at("message").as_string().empty());
}

}  // namespace

TEST_CASE("healthz answers on both listeners, unknown routes get JSON errors", "[e2e][http]") {
  fresh_database db;
  server_process server(db.conninfo());

  auto pub = http_call(server.public_port(), http::verb::get, "/healthz");
  CHECK(pub.status == 200);
  CHECK(pub.json().at("status") == "ok");
  auto adm = http_call(server.admin_port(), http::verb::get, "/healthz");
  CHECK(adm.status == 200);
  CHECK(http_call(server.admin_port(), http::verb::get, "/readyz").status == 200);

  auto nf = http_call(server.public_port(), http::verb::get, "/no/such/thing");
  CHECK(nf.status == 404);
  check_error_body(nf, "not_found");

  auto na = http_call(server.public_port(), http::verb::delete_, "/healthz");
  CHECK(na.status == 405);
  check_error_body(na, "method_not_allowed");

  auto head = http_call(server.public_port(), http::verb::head, "/healthz");
  CHECK(head.status == 200);
  CHECK(head.body.empty());

  CHECK(server.terminate() == 0);
}

TEST_CASE("oversized and malformed requests get 4xx JSON answers", "[e2e][http]") {
  fresh_database db;
  server_process server(db.conninfo(),
                        "[websocket]\nmax_message_bytes = 4096\n",
                        {{"FIELDSYNC_SERVER_MAX_HEADER_BYTES", "2048"},
                         {"FIELDSYNC_SERVER_MAX_BODY_BYTES", "4096"}});

  auto big_header = http_call(server.public_port(), http::verb::get, "/healthz", {},
                              {{"X-Padding", std::string(4000, 'a')}});
  CHECK(big_header.status == 431);
  check_error_body(big_header, "headers_too_large");

  auto big_body = http_call(server.public_port(), http::verb::post, "/healthz",
                            std::string(10000, 'b'));
  CHECK(big_body.status == 413);
  check_error_body(big_body, "body_too_large");

  auto garbage = raw_exchange(server.public_port(), "NOT HTTP AT ALL\r\n\r\n");
  CHECK_THAT(garbage, Catch::StartsWith("HTTP/1.1 400"));
  CHECK_THAT(garbage, Catch::Contains("\"code\":\"bad_request\""));

  // The server is still fine afterwards.
  CHECK(http_call(server.public_port(), http::verb::get, "/healthz").status == 200);
  CHECK(server.terminate() == 0);
}

TEST_CASE("the admin API needs the bearer token", "[e2e][http][admin]") {
  fresh_database db;
  server_process server(db.conninfo());

  auto anonymous = http_call(server.admin_port(), http::verb::get, "/admin/v1/status");
  CHECK(anonymous.status == 401);
  check_error_body(anonymous, "unauthorized");
  auto wrong = http_call(server.admin_port(), http::verb::get, "/admin/v1/status", {},
                         {{"Authorization", "Bearer nope"}});
  CHECK(wrong.status == 401);

  auto ok = http_call(server.admin_port(), http::verb::get, "/admin/v1/status", {},
                      {{"Authorization", std::string("Bearer ") + test_admin_token}});
  REQUIRE(ok.status == 200);
  CHECK(ok.json().at("connections").at("http").as_int64() >= 1);

  auto level = http_call(server.admin_port(), http::verb::put, "/admin/v1/log-level",
                         R"({"level":"debug"})",
                         {{"Authorization", std::string("Bearer ") + test_admin_token}});
  CHECK(level.status == 200);
  auto bad_level = http_call(server.admin_port(), http::verb::put, "/admin/v1/log-level",
                             R"({"level":"loud"})",
                             {{"Authorization", std::string("Bearer ") + test_admin_token}});
  CHECK(bad_level.status == 400);

  // The admin API is not on the public listener.
  CHECK(http_call(server.public_port(), http::verb::get, "/admin/v1/status").status == 404);
  CHECK(server.terminate() == 0);
}

TEST_CASE("over max_connections a client gets 503 with Retry-After", "[e2e][http]") {
  fresh_database db;
  server_process server(db.conninfo(), "", {{"FIELDSYNC_SERVER_MAX_CONNECTIONS", "2"}});
  ws_client a(server.public_port());
  ws_client b(server.public_port());
  // Both WebSockets answer, so both are registered before the third connection arrives.
  a.send(R"({"type":"ping"})");
  b.send(R"({"type":"ping"})");
  REQUIRE(a.receive());
  REQUIRE(b.receive());
  auto refused = http_call(server.public_port(), http::verb::get, "/healthz");
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  check_error_body(refused, "too_many_connections");
  CHECK(server.terminate() == 0);
}
