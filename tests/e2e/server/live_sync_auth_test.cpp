// Who may open a live-sync session, and the limits of one, on the real binary: the JWT
// negative suite over the WebSocket (hello and the upgrade's Authorization header), token
// expiry on an open socket, the hello deadline, the Origin allow-list, the message size
// limit, sessions per user, subscription errors, and /metrics.

#include "server/access/jwt_verifier.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/jwt_forge.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/ws_auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>


using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object good_claims(std::int64_t exp_offset = 3600) {
  return {{"sub", "rep-7"},
          {"iss", "https://auth.test"},
          {"aud", "fieldsync"},
          {"exp", now_s() + exp_offset},
          {"territories", json::array{1, 2}}};
}

}  // namespace

TEST_CASE("JWT negative suite over the WebSocket: every bad token is refused",
          "[e2e][sync][auth]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  temp_dir dir;
  const auto rsa_keys = generate_key_pair(true);
  const auto& rsa_private = rsa_keys.private_pem;
  const auto& rsa_public = rsa_keys.public_pem;
  write_file(dir.path() / "rs.pem", rsa_public);
  const std::string secret = test_jwt_secret;
  server_process server(dsn, live_sync_sections(db, "",
                                                "issuer = \"https://auth.test\"\n"
                                                "audience = \"fieldsync\"\n"
                                                "[auth.keys.rs]\n"
                                                "alg = \"RS256\"\n"
                                                "public_key_file = \"" +
                                                    (dir.path() / "rs.pem").string() + "\"\n"));
  const auto port = server.public_port();

  // The good ones pass, both ways.
  const auto good_hs = sign_jwt(JWT_ALG_HS256, secret, good_claims(), "test");
  const auto good_rs = sign_jwt(JWT_ALG_RS256, rsa_private, good_claims(), "rs");
  CHECK(hello_outcome(port, good_hs) == 0);
  CHECK(hello_outcome(port, good_rs) == 0);
  CHECK(upgrade_status(port, good_hs) == 101);
  CHECK(upgrade_status(port, good_rs) == 101);

  auto with = [](json::object c, const char* key, json::value v) {
    c[key] = std::move(v);
    return c;
  };
  auto tampered = good_hs;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  const std::vector<std::pair<std::string, std::string>> bad{
      {"alg none", base64url(R"({"alg":"none","kid":"test","typ":"JWT"})") + "." +
                       base64url(json::serialize(good_claims())) + "."},
      {"HS256 signed with the RSA public key",
       sign_jwt(JWT_ALG_HS256, rsa_public, good_claims(), "rs")},
      {"expired", sign_jwt(JWT_ALG_HS256, secret, good_claims(-60), "test")},
      {"not yet valid",
       sign_jwt(JWT_ALG_HS256, secret, with(good_claims(), "nbf", now_s() + 3600), "test")},
      {"wrong iss",
       sign_jwt(JWT_ALG_HS256, secret, with(good_claims(), "iss", "https://evil.test"), "test")},
      {"wrong aud",
       sign_jwt(JWT_ALG_HS256, secret, with(good_claims(), "aud", "someone-else"), "test")},
      {"unknown kid", sign_jwt(JWT_ALG_HS256, secret, good_claims(), "nope")},
      {"bad signature", tampered},
      {"signed with another secret", sign_jwt(JWT_ALG_HS256, secret + "x", good_claims(), "test")},
      {"malformed", "not-a-token"},
      {"malformed parts", "a.b.c"},
      {"empty", ""},
  };
  for (const auto& [name, token] : bad) {
    INFO(name);
    CHECK(hello_outcome(port, token) == 4001);
    if (!token.empty()) CHECK(upgrade_status(port, token) == 401);
  }

  // hello without a token at all.
  ws_client ws(port);
  ws.send(R"({"type":"hello","client_id":"c1","protocol":1})");
  CHECK_FALSE(ws.receive(30s));
  CHECK(ws.close_code() == 4001);

  auto metrics = http_call(server.admin_port(), http::verb::get, "/metrics");
  CHECK(metrics.status == 200);
  CHECK_THAT(metrics.body, Catch::Contains("fieldsync_ws_auth_failures_total "));
  CHECK_THAT(metrics.body, Catch::Contains("fieldsync_ws_sessions "));
  CHECK(server.terminate() == 0);
}

TEST_CASE(
    "a token that expires on an open socket closes it with 4002, and no hello in time closes with "
    "4001",
    "[e2e][sync][auth]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  server_process server(dsn, live_sync_sections(db, "[websocket]\nauth_timeout_ms = 500\n"));

  sync_client soon(server.public_port(), test_token("erin", {1}, 2));
  CHECK_FALSE(soon.next(30s));
  CHECK(soon.raw().close_code() == 4002);

  ws_client silent(server.public_port());
  CHECK_FALSE(silent.receive(30s));
  CHECK(silent.close_code() == 4001);

  // Messages other than ping before hello are answered with an error, not served.
  ws_client early(server.public_port());
  early.send(R"({"type":"subscribe","id":"s","collection":"items"})");
  auto m = json::parse(early.receive(30s).value());
  CHECK(m.at("code") == "unauthenticated");
  early.send(R"({"type":"ping","id":1})");
  CHECK(json::parse(early.receive(30s).value()).at("type") == "pong");
  CHECK(server.terminate() == 0);
}

TEST_CASE("cross-origin upgrades are refused before the upgrade", "[e2e][sync][origin]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);

  SECTION("default: same origin only") {
    server_process server(dsn, live_sync_sections(db));
    const auto port = server.public_port();
    CHECK_THROWS_WITH(
        ws_client(port, "/v1/ws", "fieldsync.v1", {{"Origin", "https://evil.example"}}),
        Catch::Contains("HTTP 403") && Catch::Contains("origin_not_allowed"));
    CHECK_NOTHROW(ws_client(port, "/v1/ws", "fieldsync.v1",
                            {{"Origin", "http://127.0.0.1:" + std::to_string(port)}}));
    CHECK_NOTHROW(ws_client(port));  // no Origin: not a browser
    CHECK(server.terminate() == 0);
  }
  SECTION("an allow-list") {
    server_process server(
        dsn,
        live_sync_sections(
            db,
            "[websocket]\nallowed_origins = [\"https://app.example\", \"http://localhost:*\"]\n"));
    const auto port = server.public_port();
    CHECK_NOTHROW(ws_client(port, "/v1/ws", "fieldsync.v1", {{"Origin", "https://app.example"}}));
    CHECK_NOTHROW(ws_client(port, "/v1/ws", "fieldsync.v1", {{"Origin", "http://localhost:5173"}}));
    CHECK_THROWS_WITH(
        ws_client(port, "/v1/ws", "fieldsync.v1", {{"Origin", "https://app.example.evil"}}),
        Catch::Contains("HTTP 403"));
    CHECK_THROWS_WITH(ws_client(port, "/v1/ws", "fieldsync.v1",
                                {{"Origin", "http://127.0.0.1:" + std::to_string(port)}}),
                      Catch::Contains("HTTP 403"));
    CHECK(server.terminate() == 0);
  }
}

TEST_CASE("session limits: message size, sessions per user, subscriptions per session",
          "[e2e][sync][limits]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  seed_items(dsn, 10, 2);
  server_process server(dsn, live_sync_sections(db,
                                                "[websocket]\n"
                                                "max_message_bytes = 4096\n"
                                                "max_sessions_per_user = 2\n"
                                                "max_subscriptions_per_session = 2\n"
                                                "[collections.secrets]\n"
                                                "table = \"items\"\n"
                                                "primary_key = [\"id\"]\n"));
  const auto port = server.public_port();
  wait_for_collection(dsn, "items");
  const auto token = test_token("frank", {1});

  {
    // Another user, so that this session's end does not race the per-user count below.
    sync_client big(port, test_token("gina", {1}));
    big.raw().send(R"({"type":"ping","pad":")" + std::string(8192, 'x') + "\"}");
    CHECK_FALSE(big.next(30s));
    CHECK(big.raw().close_code() == 1009);
  }

  auto one = std::make_unique<sync_client>(port, token);
  sync_client two(port, token);
  {
    ws_client three(port);
    three.send(json::serialize(json::object{{"type", "hello"}, {"token", token}, {"protocol", 1}}));
    CHECK_FALSE(three.receive(30s));
    CHECK(three.close_code() == 4029);
  }
  one->raw().close();
  one.reset();
  // The slot frees once the server has seen the close: retry until it has.
  bool admitted = false;
  for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
    try {
      sync_client again(port, token);
      admitted = true;
    } catch (const std::runtime_error&) {
    }
  }
  CHECK(admitted);

  auto error_of = [&](const json::object& subscribe) {
    two.raw().send(json::serialize(subscribe));
    auto m = two.next(30s);
    REQUIRE(m);
    REQUIRE(m->at("type") == "error");
    return *m;
  };
  CHECK(error_of({{"type", "subscribe"}, {"id", "x"}, {"collection", "nope"}}).at("code") ==
        "unknown_collection");
  CHECK(error_of({{"type", "subscribe"}, {"id", "x"}, {"collection", "secrets"}}).at("code") ==
        "forbidden");
  auto bad_filter = error_of(
      {{"type", "subscribe"}, {"id", "x"}, {"collection", "items"}, {"where", "seq >> 1"}});
  CHECK(bad_filter.at("code") == "filter_syntax");
  CHECK(bad_filter.at("position") == 5);
  CHECK(bad_filter.at("id") == "x");
  CHECK(
      error_of({{"type", "subscribe"}, {"id", "x"}, {"collection", "items"}, {"where", "nope = 1"}})
          .at("code") == "filter_unknown_column");
  CHECK(
      error_of({{"type", "subscribe"}, {"id", "x"}, {"collection", "items"}, {"where", "seq = $1"}})
          .at("code") == "filter_missing_parameter");
  CHECK(error_of({{"type", "subscribe"}, {"collection", "items"}}).at("code") == "bad_request");

  two.subscribe("a", "items");
  two.subscribe("b", "items", "seq = $1");  // no params: an error, and no slot taken
  two.subscribe("b", "items");
  bool both =
      two.run_until([&] { return two.view("a").up_to_date && two.view("b").up_to_date; }, 60s);
  for (const auto& e : two.protocol_errors()) UNSCOPED_INFO(json::serialize(e));
  REQUIRE(both);
  REQUIRE(two.run_until([&] { return two.view("a").up_to_date && two.view("b").up_to_date; }, 60s));
  CHECK(two.view("a").rows.size() == 5);  // territory 1 of 2
  CHECK(error_of({{"type", "subscribe"}, {"id", "a"}, {"collection", "items"}}).at("code") ==
        "duplicate_id");
  CHECK(error_of({{"type", "subscribe"}, {"id", "c"}, {"collection", "items"}}).at("code") ==
        "too_many_subscriptions");
  two.unsubscribe("a");
  auto gone = two.next(30s);
  REQUIRE(gone);
  CHECK(gone->at("type") == "unsubscribed");
  two.subscribe("c", "items");
  REQUIRE(two.run_until([&] { return two.view("c").up_to_date; }, 60s));
  CHECK(error_of({{"type", "unsubscribe"}, {"id", "zzz"}}).at("code") == "unknown_subscription");
  CHECK(two.errors().empty());

  auto metrics = http_call(server.admin_port(), http::verb::get, "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("fieldsync_ws_subscriptions 2\n"));
  CHECK_THAT(metrics, Catch::Contains("fieldsync_fanout_commit_to_enqueue_seconds_bucket"));
  CHECK(server.terminate() == 0);
}
