// The pull endpoints under hostile or careless use (issue "Hardening"): long-polls wake
// only for their collection and are limited per user, a statement that runs too long is
// cancelled, and bytes the database would refuse are the client's 400, never a 500.

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/pull_fixture.hpp"
#include "tests/support/server_process.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A second synced collection, readable by everyone: its changes must not wake the
// long-polls of "accounts".
const char* notes_section =
    "[collections.notes]\n"
    "table = \"pull_notes\"\n"
    "primary_key = [\"id\"]\n"
    "public = true\n"
    // The same scope as accounts on another table: equal filter identities.
    "[collections.twins]\n"
    "table = \"pull_twins\"\n"
    "primary_key = [\"id\"]\n"
    "read_scope = \"territory_id = ANY($claims.territories)\"\n";

// The cursor after the caller's snapshot of accounts.
std::string caught_up_cursor(std::uint16_t port, const std::string& token) {
  std::string cursor;
  for (int i = 0; i < 100; ++i) {
    auto target = std::string("/v1/collections/accounts/changes?limit=1000") +
                  (cursor.empty() ? "" : "&cursor=" + url_encode(cursor));
    auto r = http_call(port, http::verb::get, target, {}, bearer(token));
    REQUIRE(r.status == 200);
    auto body = r.json().as_object();
    cursor = std::string(body.at("cursor").as_string());
    if (!body.at("has_more").as_bool()) return cursor;
  }
  FAIL("the snapshot did not end");
  return cursor;
}

}  // namespace

TEST_CASE("long-polls: woken only by their collection, limited per user",
          "[e2e][pulls][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  exec_sql(dsn, "CREATE TABLE pull_notes (id bigint PRIMARY KEY, body text)");
  exec_sql(dsn, "CREATE TABLE pull_twins (id bigint PRIMARY KEY, territory_id integer)");
  server_process server(dsn, pull_sections(db.name(),
                                           "long_poll_timeout_ms = 4000\n"
                                           "max_long_polls_per_user = 2\n") +
                                 notes_section);
  wait_for_pull_log(dsn);
  const auto port = server.public_port();
  auto token = sign_token({{"territories", json::array{1}}, {"sub", "rep-1"}});
  const auto cursor = caught_up_cursor(port, token);
  const auto live = "/v1/collections/accounts/changes?live=true&cursor=" + url_encode(cursor);

  SECTION("changes of another collection wake no long-poll") {
    auto before = metric_value(server.admin_port(), "fieldsync_long_poll_reads_total");
    auto poll = std::async(std::launch::async, [&] {
      return http_call(port, http::verb::get, live, {}, bearer(token), 60s);
    });
    std::this_thread::sleep_for(500ms);
    for (int i = 0; i < 20; ++i) {
      exec_sql(dsn, "INSERT INTO pull_notes VALUES (" + std::to_string(i) + ", 'n')");
      std::this_thread::sleep_for(100ms);
    }
    auto r = poll.get();
    REQUIRE(r.status == 200);
    CHECK(r.json().at("changes").as_array().empty());
    CHECK(metric_value(server.admin_port(), "fieldsync_long_poll_reads_total") == before);

    // A change of its own collection wakes it and is answered.
    auto again = std::async(std::launch::async, [&] {
      return http_call(port, http::verb::get, live, {}, bearer(token), 60s);
    });
    std::this_thread::sleep_for(500ms);
    exec_sql(dsn, "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (7001, 1, 'x')");
    auto woken = again.get();
    REQUIRE(woken.status == 200);
    REQUIRE(woken.json().at("changes").as_array().size() == 1);
    CHECK(metric_value(server.admin_port(), "fieldsync_long_poll_reads_total") > before);
  }

  SECTION("identical long-polls woken by one change read the log once") {
    // Eight users with the same scope wait at the same cursor (each within its own limit),
    // four on accounts and four on twins, whose scope compiles to the same filter: the
    // polls of one collection share a read, never those of the other.
    const auto twins_live = "/v1/collections/twins/changes?live=true&cursor=" + url_encode(cursor);
    std::vector<std::future<http_reply>> polls;
    for (int i = 0; i < 8; ++i) {
      auto theirs =
          sign_token({{"territories", json::array{1}}, {"sub", "twin-" + std::to_string(i)}});
      const auto target = i % 2 ? twins_live : live;
      polls.push_back(std::async(std::launch::async, [&, theirs, target] {
        return http_call(port, http::verb::get, target, {}, bearer(theirs), 60s);
      }));
    }
    std::this_thread::sleep_for(1s);
    auto before = metric_value(server.admin_port(), "fieldsync_long_poll_reads_total");
    exec_sql(dsn,
             "BEGIN; INSERT INTO pull_accounts (id, territory_id, stage) VALUES (7002, 1, 'y'); "
             "INSERT INTO pull_twins VALUES (9002, 1); COMMIT");
    for (int i = 0; i < 8; ++i) {
      auto r = polls[i].get();
      REQUIRE(r.status == 200);
      auto changes = r.json().at("changes").as_array();
      REQUIRE(changes.size() == 1);
      INFO(json::serialize(changes));
      CHECK(changes[0].at("key") == (i % 2 ? "9002" : "7002"));
    }
    CHECK(metric_value(server.admin_port(), "fieldsync_long_poll_reads_total") == *before + 2);
  }

  SECTION("a user's live requests are limited; another user's are not") {
    std::vector<std::future<http_reply>> polls;
    for (int i = 0; i < 2; ++i) {
      polls.push_back(std::async(std::launch::async, [&] {
        return http_call(port, http::verb::get, live, {}, bearer(token), 60s);
      }));
    }
    std::this_thread::sleep_for(1s);
    auto third = http_call(port, http::verb::get, live, {}, bearer(token));
    CHECK(third.status == 429);
    CHECK(third.json().at("error").at("code") == "too_many_polls");
    CHECK(third.header("Retry-After") == "1");
    // Requests that do not wait are not counted.
    auto plain = http_call(port, http::verb::get,
                           "/v1/collections/accounts/changes?cursor=" + url_encode(cursor), {},
                           bearer(token));
    CHECK(plain.status == 200);
    auto other = sign_token({{"territories", json::array{1}}, {"sub", "rep-2"}});
    auto theirs = http_call(port, http::verb::get, live, {}, bearer(other), 60s);
    CHECK(theirs.status == 200);
    for (auto& p : polls) CHECK(p.get().status == 200);
    // Their places are free again.
    CHECK(http_call(port, http::verb::get, live, {}, bearer(token), 60s).status == 200);
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("statement timeout: a request held up in the database is cancelled, not the pool",
          "[e2e][pulls][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  server_process server(dsn, pull_sections(db.name()),
                        {{"FIELDSYNC_DATABASE_STATEMENT_TIMEOUT_MS", "300"},
                         {"FIELDSYNC_DATABASE_LOCK_TIMEOUT_MS", "0"}});
  wait_for_pull_log(dsn);
  const auto port = server.public_port();
  auto token = sign_token({{"territories", json::array{1}}});
  const auto cursor = caught_up_cursor(port, token);
  const auto target = "/v1/collections/accounts/changes?cursor=" + url_encode(cursor);
  {
    // Another session holds the log: the pull's read waits, until its statement timeout.
    auto holder = pg_connect(dsn);
    pg_exec(holder.get(), "BEGIN");
    pg_exec(holder.get(), "LOCK TABLE fieldsync.changes IN ACCESS EXCLUSIVE MODE");
    auto r = http_call(port, http::verb::get, target, {}, bearer(token));
    CHECK(r.status == 503);
    CHECK(r.json().at("error").at("code") == "query_timeout");
    pg_exec(holder.get(), "ROLLBACK");
  }
  // The pool's connections are fine afterwards.
  CHECK(http_call(port, http::verb::get, target, {}, bearer(token)).status == 200);
  CHECK(server.terminate() == 0);
}

TEST_CASE("pulls: bytes the database refuses are 400, never 500", "[e2e][pulls][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  exec_sql(dsn,
           "INSERT INTO pull_accounts (id, territory_id, stage) "
           "SELECT g, 1, 'lead' FROM generate_series(1, 5) g");
  server_process server(dsn, pull_sections(db.name()));
  wait_for_pull_log(dsn);
  const auto port = server.public_port();
  auto token = sign_token({{"territories", json::array{1}}});
  auto get = [&](const std::string& target) {
    return http_call(port, http::verb::get, target, {}, bearer(token));
  };
  auto code_of = [](const http_reply& r) {
    return std::string(r.json().at("error").at("code").as_string());
  };

  // A history key that is not UTF-8, or holds a NUL; a key of the wrong type.
  for (const auto* key : {"%FF", "%C0%80", "%ED%A0%80", "1%00"}) {
    auto r = get(std::string("/v1/collections/accounts/rows/") + key + "/history");
    CHECK(r.status == 400);
    CHECK(code_of(r) == "bad_path");
  }
  auto wrong_type = get("/v1/collections/accounts/rows/not-a-number/history");
  CHECK(wrong_type.status < 500);

  // Query values that are not UTF-8.
  for (const auto* q : {"where=%FF", "params=%FE", "%FF=1", "cursor=%00"}) {
    auto r = get(std::string("/v1/collections/accounts/changes?") + q);
    CHECK(r.status == 400);
    CHECK(code_of(r) == "bad_query");
  }

  // A snapshot cursor whose key is 0xFF: a cursor this server never gave out.
  auto first = get("/v1/collections/accounts/changes?limit=2");
  REQUIRE(first.status == 200);
  std::string cursor(first.json().at("cursor").as_string());
  REQUIRE(cursor.front() == 'S');
  auto forged = cursor.substr(0, cursor.rfind('-') + 1) + "_w";  // base64url of 0xFF
  auto r = get("/v1/collections/accounts/changes?cursor=" + url_encode(forged));
  CHECK(r.status == 400);
  CHECK(code_of(r) == "bad_cursor");

  // Shape offsets beyond bigint.
  for (const auto* offset :
       {"0_9223372036854775808", "0_18446744073709551615", "99999999999999999999_1"}) {
    auto s = get(std::string("/v1/shape?table=accounts&offset=") + offset +
                 "&handle=1-1-0000000000000000");
    CHECK(s.status == 400);
  }
  CHECK(server.terminate() == 0);
}
