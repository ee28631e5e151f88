// Revocations and token times on the real binary (docs/security.md, "Revocation, token
// age and token times"): a revoked subject's tokens are refused by the WebSocket (hello and
// upgrade), pulls and mutations, its open sessions close, a token issued after the
// revocation or after lifting it works; a revoked jti; a second node on the same databases
// sees a revocation within auth.revocation_refresh_ms; auth.max_token_age_ms; validly
// signed tokens with absurd times (2^62, 1e300, year 9999) are answered without the
// sanitizer build aborting.

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"
#include "tests/support/ws_auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

http_reply admin(std::uint16_t port, http::verb method, const std::string& target,
                 const std::string& body = {}) {
  return http_call(port, method, target, body,
                   {{"Authorization", std::string("Bearer ") + test_admin_token},
                    {"Content-Type", "application/json"}});
}

http_reply revoke(std::uint16_t admin_port, const json::object& body) {
  return admin(admin_port, http::verb::post, "/admin/v1/revocations", json::serialize(body));
}

http_reply pull(std::uint16_t port, const std::string& token) {
  return http_call(port, http::verb::get, "/v1/collections/m_items/changes", {},
                   {{"Authorization", "Bearer " + token}});
}

http_reply mutate(std::uint16_t port, const std::string& token, int row) {
  json::object m{{"mutation_id", 1},     {"collection", "m_items"}, {"op", "update"},
                 {"key", {{"id", row}}}, {"set", {{"title", "t"}}}, {"base", json::object{}}};
  return http_call(port, http::verb::post, "/v1/mutations",
                   json::serialize(json::object{{"client_id", "rv-" + std::to_string(now_s())},
                                                {"mutations", json::array{m}}}),
                   {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
}

std::string error_code_of(const http_reply& r) {
  auto body = json::parse(r.body);
  return std::string(body.at("error").at("code").as_string());
}

// Reads until the server closes the session; its close code.
std::uint16_t close_code_of(sync_client& c) {
  for (int i = 0; i < 1000; ++i) {
    if (!c.raw().receive(10s)) return c.raw().close_code();
  }
  return 0;
}

// SIGTERM; the process must exit 0 (an ASan or UBSan report would make it abort).
void stop_cleanly(server_process& server) {
  const int code = server.terminate();
  if (code != 0) FAIL("exit " << code << ":\n" << server.process().transcript());
}

std::string sections(const std::string& database, const std::string& auth_extra = "",
                     bool ingest = true) {
  auto s = mutation_sections(database);
  if (!ingest) s.replace(s.find("[replication]\n"), 14, "[replication]\ningest = false\n");
  return "[auth]\nrevocation_refresh_ms = 200\n" + auth_extra + s;
}

}  // namespace

TEST_CASE("a revoked subject's tokens are refused everywhere until lifted, on every node",
          "[e2e][revocation]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  server_process node_a(dsn, sections(db.name()));
  wait_for_log_rows(dsn, 3);
  server_process node_b(dsn, sections(db.name(), "", false));
  const auto a = node_a.public_port();
  const auto b = node_b.public_port();

  const auto before = hs256_token({{"sub", "u1"}, {"iat", now_s() - 5}});
  const auto other = hs256_token({{"sub", "u2"}, {"iat", now_s() - 5}});
  REQUIRE(pull(a, before).status == 200);
  REQUIRE(pull(b, before).status == 200);

  sync_client on_a(a, before, "tab-a");
  sync_client on_b(b, before, "tab-b");
  sync_client bystander(a, other, "tab-other");

  auto revoked = revoke(node_a.admin_port(), {{"sub", "u1"}});
  INFO(revoked.body);
  REQUIRE(revoked.status == 201);
  CHECK(revoked.json().at("kind") == "sub");
  CHECK(revoked.json().at("value") == "u1");
  CHECK(revoked.json().at("until").is_null());
  CHECK(revoked.json().at("disconnected").as_array().size() == 1);

  // This node: at once, open sessions closed.
  CHECK(close_code_of(on_a) == 4003);
  auto refused = pull(a, before);
  CHECK(refused.status == 401);
  CHECK(error_code_of(refused) == "token_revoked");
  CHECK(refused.header("WWW-Authenticate").starts_with("Bearer"));
  auto write = mutate(a, before, 1);
  CHECK(write.status == 401);
  CHECK(error_code_of(write) == "token_revoked");
  CHECK(hello_outcome(a, before) == 4001);
  CHECK(upgrade_status(a, before) == 401);
  // A token without iat cannot show it was issued after the revocation.
  CHECK(pull(a, hs256_token({{"sub", "u1"}})).status == 401);
  // Others are untouched.
  CHECK(pull(a, other).status == 200);
  CHECK(!bystander.closed());

  // The other node: within its refresh interval, its session closed too.
  wait_until([&] { return pull(b, before).status == 401; }, 20s, "node B to refuse u1");
  CHECK(close_code_of(on_b) == 4003);
  CHECK(mutate(b, before, 1).status == 401);
  CHECK(hello_outcome(b, before) == 4001);

  // A token issued after the revocation (a new sign-in) is accepted on both nodes. (iat has
  // whole seconds; the next second is after the revocation.)
  const auto after = hs256_token({{"sub", "u1"}, {"iat", now_s() + 1}});
  CHECK(pull(a, after).status == 200);
  CHECK(pull(b, after).status == 200);
  CHECK(hello_outcome(a, after) == 0);

  auto listed = admin(node_b.admin_port(), http::verb::get, "/admin/v1/revocations");
  REQUIRE(listed.status == 200);
  REQUIRE(listed.json().at("revocations").as_array().size() == 1);
  CHECK(listed.json().at("revocations").at(0).at("value") == "u1");

  // Lifted on node B: B at once, A within its refresh.
  auto lifted = admin(node_b.admin_port(), http::verb::delete_, "/admin/v1/revocations?sub=u1");
  INFO(lifted.body);
  CHECK(lifted.status == 200);
  CHECK(pull(b, before).status == 200);
  wait_until([&] { return pull(a, before).status == 200; }, 20s, "node A to lift u1");
  CHECK(hello_outcome(a, before) == 0);
  CHECK(mutate(a, before, 1).status == 200);
  CHECK(admin(node_b.admin_port(), http::verb::delete_, "/admin/v1/revocations?sub=u1").status ==
        404);

  stop_cleanly(node_b);
  stop_cleanly(node_a);
}

TEST_CASE("a revoked token id is refused, other tokens of its subject are not",
          "[e2e][revocation]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  server_process server(dsn, sections(db.name()));
  wait_for_log_rows(dsn, 3);
  const auto port = server.public_port();

  const auto stolen = hs256_token({{"sub", "u1"}, {"jti", "token-1"}, {"iat", now_s()}});
  const auto fresh = hs256_token({{"sub", "u1"}, {"jti", "token-2"}, {"iat", now_s()}});
  sync_client open(port, stolen, "tab-1");
  // Pulled once before the revocation: the pulls remember a verified token.
  auto first = pull(port, stolen);
  REQUIRE(first.status == 200);
  REQUIRE(!first.json().at("has_more").as_bool());
  // And waiting in a long-poll when it is revoked: the change that wakes it is not sent.
  auto waiting = std::async(std::launch::async, [&] {
    return http_call(port, http::verb::get,
                     "/v1/collections/m_items/changes?live=true&cursor=" +
                         url_encode(std::string(first.json().at("cursor").as_string())),
                     {}, {{"Authorization", "Bearer " + stolen}}, 60s);
  });
  std::this_thread::sleep_for(500ms);
  auto r = revoke(server.admin_port(), {{"jti", "token-1"}, {"until", now_s() + 3600}});
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(r.json().at("kind") == "jti");
  CHECK(r.json().at("until").is_string());
  CHECK(close_code_of(open) == 4003);
  auto refused = pull(port, stolen);
  CHECK(refused.status == 401);
  CHECK(error_code_of(refused) == "token_revoked");
  CHECK(mutate(port, stolen, 1).status == 401);
  CHECK(hello_outcome(port, stolen) == 4001);
  exec_sql(dsn, "UPDATE m_items SET title = 'woken' WHERE id = 2");
  auto woken = waiting.get();
  CHECK(woken.status == 401);
  CHECK(error_code_of(woken) == "token_revoked");
  CHECK(pull(port, fresh).status == 200);
  CHECK(hello_outcome(port, fresh) == 0);

  // An entry whose until has passed is pruned (here: one that lapses in a second).
  auto brief = revoke(server.admin_port(), {{"jti", "token-2"}, {"until", now_s() + 1}});
  REQUIRE(brief.status == 201);
  wait_until([&] { return pull(port, fresh).status == 200; }, 20s, "token-2's entry to lapse");
  wait_until(
      [&] {
        auto l = admin(server.admin_port(), http::verb::get, "/admin/v1/revocations");
        return l.status == 200 && l.json().at("revocations").as_array().size() == 1;
      },
      20s, "the lapsed entry to be pruned");
  CHECK(log_value(dsn, "SELECT count(*) FROM fieldsync.revocations") == "1");
}

TEST_CASE("the revocations API refuses malformed requests with 400", "[e2e][revocation]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 1);
  server_process server(dsn, sections(db.name()));
  wait_for_log_rows(dsn, 1);
  const auto ap = server.admin_port();

  CHECK(http_call(ap, http::verb::get, "/admin/v1/revocations").status == 401);
  CHECK(http_call(ap, http::verb::post, "/admin/v1/revocations", R"({"sub":"u1"})").status == 401);
  for (std::string body :
       {std::string("not json"), std::string("[]"), std::string("{}"), std::string(R"({"sub":""})"),
        std::string(R"({"sub":1})"), std::string(R"({"sub":"a","jti":"b"})"),
        std::string(R"({"sub":"a","role":"x"})"),
        std::string(R"({"sub":"a","until":"not a time"})"),
        std::string(R"({"sub":"a","until":"9999-12-31T00:00:00Z"})"),
        std::string(R"({"sub":"a","until":"infinity"})"),
        std::string(R"({"sub":"a","until":1e300})"), std::string(R"({"sub":"a","until":-5})"),
        std::string(R"({"sub":"a","until":18446744073709551615})"),
        std::string(R"({"sub":"a","until":1.5})"), std::string(R"({"sub":"a\u0000b"})"),
        std::string(R"({"jti":"\u0000"})"), std::string(R"({"sub":"a","until":"2030\u0000"})"),
        std::string(R"({"sub":")") + std::string(2000, 'x') + "\"}"}) {
    INFO(body);
    auto r = admin(ap, http::verb::post, "/admin/v1/revocations", body);
    CHECK(r.status == 400);
    CHECK(error_code_of(r) == "bad_revocation");
  }
  CHECK(admin(ap, http::verb::delete_, "/admin/v1/revocations").status == 400);
  CHECK(admin(ap, http::verb::delete_, "/admin/v1/revocations?sub=a&jti=b").status == 400);
  CHECK(admin(ap, http::verb::delete_, "/admin/v1/revocations?jti=nobody").status == 404);
  auto listed = admin(ap, http::verb::get, "/admin/v1/revocations");
  CHECK(listed.status == 200);
  CHECK(listed.json().at("revocations").as_array().empty());
  stop_cleanly(server);
}

TEST_CASE("tokens older than auth.max_token_age, or without iat, are refused",
          "[e2e][revocation][token_time]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 1);
  server_process server(dsn, sections(db.name(), "max_token_age_ms = 3000\nleeway_ms = 0\n"));
  wait_for_log_rows(dsn, 1);
  const auto port = server.public_port();

  // Accepted while young; refused once older, although the pulls remember it.
  const auto young = hs256_token({{"sub", "u1"}, {"iat", now_s()}});
  CHECK(pull(port, young).status == 200);
  wait_until([&] { return pull(port, young).status == 401; }, 15s, "the token to grow too old");
  CHECK(error_code_of(pull(port, young)) == "token_too_old");
  for (const auto& token :
       {hs256_token({{"sub", "u1"}, {"iat", now_s() - 600}}), hs256_token({{"sub", "u1"}})}) {
    auto r = pull(port, token);
    CHECK(r.status == 401);
    CHECK(error_code_of(r) == "token_too_old");
    CHECK(hello_outcome(port, token) == 4001);
  }
  // Issued in the future: it would never grow old.
  auto ahead = pull(port, hs256_token({{"sub", "u1"}, {"iat", now_s() + 3600}}));
  CHECK(ahead.status == 401);
  CHECK(error_code_of(ahead) == "invalid_token");
  stop_cleanly(server);
}

TEST_CASE("validly signed tokens with absurd times are answered without undefined behaviour",
          "[e2e][revocation][token_time]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 1);
  server_process server(dsn, sections(db.name()));
  wait_for_log_rows(dsn, 1);
  const auto port = server.public_port();

  // Far future: accepted, with an expiry the server can do arithmetic on (the WebSocket
  // arms its expiry timer; the admin API prints it).
  for (const auto& exp : {json::value(std::int64_t{1} << 62), json::value(1e300),
                          json::value(std::int64_t{253'402'300'799}), json::value(INT64_MAX)}) {
    INFO(json::serialize(exp));
    const auto token =
        hs256_token({{"sub", "u1"},
                     {"exp", exp},
                     {"iat", now_s()},
                     {"nbf", exp.is_double() ? json::value(-1e300) : json::value(0)}});
    CHECK(pull(port, token).status == 200);
    CHECK(hello_outcome(port, token) == 0);
    sync_client open(port, token, "far-future");
    auto clients = http_call(server.admin_port(), http::verb::get, "/admin/v1/clients", {},
                             {{"Authorization", std::string("Bearer ") + test_admin_token}});
    REQUIRE(clients.status == 200);
    bool listed = false;
    const auto body = clients.json();
    for (const auto& c : body.at("clients").as_array()) {
      if (c.at("client_id") != "far-future") continue;
      listed = true;
      CHECK(c.at("expires_at") == "2200-01-01T00:00:00Z");
    }
    CHECK(listed);
  }
  // Far past and fractional: expired, or accepted, never an overflow.
  for (const auto& exp : {json::value(-1e300), json::value(INT64_MIN), json::value(-1)}) {
    auto r = pull(port, hs256_token({{"sub", "u1"}, {"exp", exp}}));
    CHECK(r.status == 401);
    CHECK(error_code_of(r) == "token_expired");
  }
  CHECK(pull(port, hs256_token({{"sub", "u1"}, {"exp", static_cast<double>(now_s()) + 600.5}}))
            .status == 200);
  CHECK(http_call(port, http::verb::get, "/healthz").status == 200);
  // The process is still the one we started: it exits cleanly (a UBSan abort would not).
  stop_cleanly(server);
}
