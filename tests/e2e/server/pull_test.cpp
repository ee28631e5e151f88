// HTTP delta pulls against the real binary: pull equivalence under concurrent writers,
// long-polls, ETags, NDJSON snapshots, row history, /v1/collections and the errors.

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/pull_fixture.hpp"
#include "tests/support/server_process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_to.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string changes_target(const std::string& cursor, std::size_t limit,
                           const std::string& where = "", const std::string& params = "") {
  std::string t = "/v1/collections/accounts/changes?limit=" + std::to_string(limit);
  if (!cursor.empty()) t += "&cursor=" + url_encode(cursor);
  if (!where.empty()) t += "&where=" + url_encode(where);
  if (!params.empty()) t += "&params=" + url_encode(params);
  return t;
}

// The scoped rows as the source table has them: id -> (territory, stage, amount text).
using table_state = std::map<std::string, std::string>;

std::string row_signature(const json::object& row) {
  std::ostringstream s;
  s << json::value_to<std::int64_t>(row.at("territory_id")) << "|";
  s << (row.at("stage").is_null() ? std::string("null") : std::string(row.at("stage").as_string()));
  s << "|" << json::serialize(row.at("amount"));
  return s.str();
}

table_state expected_rows(const std::string& dsn, const std::string& extra_where) {
  auto text = query_value(dsn,
                          "SELECT coalesce(json_agg(json_build_object('id', id, 'territory_id', "
                          "territory_id, 'stage', stage, 'amount', amount) ORDER BY id), '[]') "
                          "FROM pull_accounts WHERE territory_id IN (1, 2)" +
                              extra_where);
  table_state out;
  auto parsed = json::parse(text);
  for (const auto& v : parsed.as_array()) {
    const auto& o = v.as_object();
    out[std::to_string(json::value_to<std::int64_t>(o.at("id")))] = row_signature(o);
  }
  return out;
}

// Random writes: inserts, updates that move rows between territories (in and out of the
// scope), stage changes, deletes; some transactions touch several rows.
void random_writes(const std::string& dsn, std::uint64_t seed, int transactions,
                   const std::atomic<bool>* stop = nullptr) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  const char* stages[] = {"lead", "proposal", "won", "lost"};
  for (int t = 0; t < transactions && !(stop && *stop); ++t) {
    std::string sql = "BEGIN;";
    int n = 1 + pick(3);
    for (int i = 0; i < n; ++i) {
      auto id = std::to_string(1 + pick(300));
      auto territory = std::to_string(1 + pick(4));
      std::string stage = stages[pick(4)];
      switch (pick(4)) {
        case 0:
          sql += "DELETE FROM pull_accounts WHERE id = " + id + ";";
          break;
        case 1:
          sql += "UPDATE pull_accounts SET territory_id = " + territory + " WHERE id = " + id + ";";
          break;
        default:
          sql += "INSERT INTO pull_accounts (id, territory_id, stage, amount) VALUES (" + id +
                 ", " + territory + ", '" + stage + "', " + std::to_string(pick(100000)) +
                 ".5) ON CONFLICT (id) DO UPDATE SET stage = excluded.stage, amount = "
                 "excluded.amount;";
      }
    }
    sql += "COMMIT";
    exec_sql(dsn, sql);
  }
}

struct puller {
  puller(std::uint16_t p, std::string t) : port(p), token(std::move(t)) {}
  std::uint16_t port;
  std::string token;
  std::string where, params;
  std::map<std::string, std::string> rows;  // key -> signature
  std::string cursor;
  std::mt19937 rng{7};

  // One page; returns has_more. Checks that a page names each key once and that deletes
  // only name rows the client holds (nothing doubled, nothing spurious).
  bool page() {
    std::size_t limit = 1 + rng() % 60;
    auto r = http_call(port, http::verb::get, changes_target(cursor, limit, where, params), {},
                       bearer(token));
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto body = r.json().as_object();
    std::set<std::string> seen;
    const auto& changes = body.at("changes").as_array();
    for (const auto& c : changes) {
      const auto& o = c.as_object();
      std::string key(o.at("key").as_string());
      CHECK(seen.insert(key).second);
      if (o.at("op") == "upsert") {
        rows[key] = row_signature(o.at("row").as_object());
      } else {
        CHECK(o.at("op") == "delete");
        CHECK(rows.count(key) == 1);
        rows.erase(key);
      }
    }
    CHECK(body.at("changes").as_array().size() <= limit);
    cursor = std::string(body.at("cursor").as_string());
    return body.at("has_more").as_bool();
  }

  void until_caught_up() {
    while (page()) {
    }
  }
};

}  // namespace

TEST_CASE("pull equivalence: snapshot, then pulls in random page sizes, under concurrent writers",
          "[e2e][pulls]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  random_writes(dsn, 1, 300);
  server_process server(dsn, pull_sections(db.name()));
  wait_for_pull_log(dsn);
  auto token = sign_token({{"territories", json::array{1, 2}}});

  for (int variant = 0; variant < 2; ++variant) {
    DYNAMIC_SECTION("variant " << variant) {
      std::atomic<bool> stop{false};
      std::thread w1([&] { random_writes(dsn, 100 + variant, 100000, &stop); });
      std::thread w2([&] { random_writes(dsn, 200 + variant, 100000, &stop); });
      puller p(server.public_port(), token);
      p.rng.seed(variant + 1);
      if (variant == 1) {
        p.where = "stage <> $1";
        p.params = "[\"lost\"]";
      }
      // The snapshot, paged while the writers write, then a few rounds of deltas.
      p.until_caught_up();
      for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(100ms);
        p.until_caught_up();
      }
      stop = true;
      w1.join();
      w2.join();
      wait_for_pull_log(dsn);
      p.until_caught_up();
      auto expected = expected_rows(dsn, variant == 1 ? " AND stage <> 'lost'" : "");
      CHECK(p.rows == expected);
    }
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("long-poll: answers when a matching change commits, ends cleanly at its timeout",
          "[e2e][pulls]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  server_process server(dsn, pull_sections(db.name(), "long_poll_timeout_ms = 600000"));
  wait_for_pull_log(dsn);
  auto token = sign_token({{"territories", json::array{1}}});
  puller p(server.public_port(), token);
  p.until_caught_up();
  const auto cursor = p.cursor;

  // The commit lands while the request waits: the answer carries it. (Were it answered
  // only at the timeout of ten minutes, the test would time out instead.)
  std::thread writer([&] {
    std::this_thread::sleep_for(300ms);
    exec_sql(dsn, "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (4242, 3, 'other')");
    std::this_thread::sleep_for(300ms);
    exec_sql(dsn, "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (4243, 1, 'mine')");
  });
  auto r = http_call(server.public_port(), http::verb::get,
                     "/v1/collections/accounts/changes?live=true&cursor=" + url_encode(cursor), {},
                     bearer(token), 120s);
  writer.join();
  REQUIRE(r.status == 200);
  auto body = r.json().as_object();
  REQUIRE(body.at("changes").as_array().size() == 1);
  CHECK(body.at("changes").as_array()[0].at("key") == "4243");
  CHECK(r.header("Cache-Control").find("private") != std::string::npos);
  CHECK(server.terminate() == 0);

  // Without a matching commit the long-poll ends at its timeout with an empty page.
  server_process quick(dsn, pull_sections(db.name(), "long_poll_timeout_ms = 300"));
  auto again = http_call(quick.public_port(), http::verb::get,
                         "/v1/collections/accounts/changes?live=true&cursor=" +
                             url_encode(std::string(body.at("cursor").as_string())),
                         {}, bearer(token), 60s);
  REQUIRE(again.status == 200);
  auto empty = again.json().as_object();
  CHECK(empty.at("changes").as_array().empty());
  CHECK(empty.at("has_more") == false);
  CHECK(quick.terminate() == 0);
}

TEST_CASE("pulls: ETag and 304, gzip, NDJSON snapshot, collections, history, errors",
          "[e2e][pulls]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  exec_sql(dsn,
           "INSERT INTO pull_accounts (id, territory_id, stage, amount) "
           "SELECT g, 1 + g % 3, 'lead', g FROM generate_series(1, 500) g");
  server_process server(dsn, pull_sections(db.name()));
  wait_for_pull_log(dsn);
  auto token = sign_token({{"territories", json::array{1, 2}}});
  const auto port = server.public_port();

  SECTION("ETag: the same answer again is 304") {
    auto target = changes_target("", 50);
    auto first = http_call(port, http::verb::get, target, {}, bearer(token));
    REQUIRE(first.status == 200);
    auto etag = first.header("ETag");
    REQUIRE_FALSE(etag.empty());
    CHECK(first.header("Vary").find("Authorization") != std::string::npos);
    auto hdrs = bearer(token);
    hdrs.emplace_back("If-None-Match", etag);
    auto second = http_call(port, http::verb::get, target, {}, hdrs);
    CHECK(second.status == 304);
    CHECK(second.body.empty());
    auto gz = bearer(token);
    gz.emplace_back("Accept-Encoding", "gzip");
    auto zipped = http_call(port, http::verb::get, target, {}, gz);
    CHECK(zipped.status == 200);
    CHECK(zipped.header("Content-Encoding") == "gzip");
  }

  SECTION("NDJSON: the whole scoped snapshot in one streamed answer") {
    auto hdrs = bearer(token);
    hdrs.emplace_back("Accept", "application/x-ndjson");
    auto r = http_call(port, http::verb::get, "/v1/collections/accounts/changes", {}, hdrs);
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type") == "application/x-ndjson");
    std::istringstream lines(r.body);
    std::string line;
    std::size_t rows = 0;
    json::object last;
    while (std::getline(lines, line)) {
      auto o = json::parse(line).as_object();
      if (o.contains("op"))
        ++rows;
      else
        last = o;
    }
    CHECK(rows == std::stoul(query_value(
                      dsn, "SELECT count(*) FROM pull_accounts WHERE territory_id IN (1, 2)")));
    CHECK(last.at("has_more") == false);
    // The cursor it ends with continues as deltas.
    auto next = http_call(port, http::verb::get,
                          changes_target(std::string(last.at("cursor").as_string()), 10), {},
                          bearer(token));
    CHECK(next.status == 200);
  }

  SECTION("/v1/collections lists what the caller may read, with column types") {
    auto r = http_call(port, http::verb::get, "/v1/collections", {}, bearer(token));
    REQUIRE(r.status == 200);
    auto list = r.json().at("collections").as_array();
    REQUIRE(list.size() == 1);
    CHECK(list[0].at("name") == "accounts");
    CHECK(list[0].at("primary_key").as_array()[0] == "id");
    CHECK(list[0].at("columns").as_array()[0].at("type") == "int8");
  }

  SECTION("row history: versions with operation, changed columns and commit time") {
    exec_sql(dsn, "UPDATE pull_accounts SET stage = 'proposal' WHERE id = 1");
    exec_sql(dsn, "UPDATE pull_accounts SET amount = 7 WHERE id = 1");
    wait_for_pull_log(dsn);
    auto r = http_call(port, http::verb::get, "/v1/collections/accounts/rows/1/history", {},
                       bearer(token));
    REQUIRE(r.status == 200);
    auto h = r.json().as_object();
    auto versions = h.at("versions").as_array();
    REQUIRE(versions.size() ==
            2);  // the insert predates the load: its copy is the current row only
    CHECK(versions[0].at("op") == "update");
    CHECK(versions[0].at("changed").as_array()[0] == "amount");
    CHECK(versions[1].at("changed").as_array()[0] == "stage");
    CHECK(versions[0].at("origin").is_null());
    CHECK(h.at("current").at("version") == versions[0].at("version"));
    // A row outside the caller's scope does not exist for it.
    auto hidden = http_call(port, http::verb::get, "/v1/collections/accounts/rows/5/history", {},
                            bearer(token));
    CHECK(hidden.status == 404);
    auto none = http_call(port, http::verb::get, "/v1/collections/accounts/rows/99999/history", {},
                          bearer(token));
    CHECK(none.status == 404);
  }

  SECTION("errors") {
    auto no_token = http_call(port, http::verb::get, changes_target("", 10));
    CHECK(no_token.status == 401);
    CHECK(no_token.json().at("error").at("code").is_string());
    auto unknown =
        http_call(port, http::verb::get, "/v1/collections/nope/changes", {}, bearer(token));
    CHECK(unknown.status == 404);
    auto bad_where =
        http_call(port, http::verb::get, changes_target("", 10, "stage = 'x' AND regio = 1"), {},
                  bearer(token));
    CHECK(bad_where.status == 400);
    CHECK(bad_where.json().at("error").at("parameter") == "where");
    CHECK(bad_where.json().at("error").at("position") == 16);
    auto bad_limit = http_call(port, http::verb::get, changes_target("", 0), {}, bearer(token));
    CHECK(bad_limit.status == 400);
    CHECK(bad_limit.json().at("error").at("parameter") == "limit");
    auto other_epoch = http_call(port, http::verb::get, changes_target("1-0000000000000001", 10),
                                 {}, bearer(token));
    CHECK(other_epoch.status == 409);
    CHECK(other_epoch.json().at("error").at("code") == "reset");
    CHECK(other_epoch.json().at("error").at("reason") == "other_epoch");
    auto no_scope =
        http_call(port, http::verb::get, changes_target("", 10), {}, bearer(sign_token({})));
    CHECK(no_scope.status == 200);  // a token without territories sees nothing, not an error
    CHECK(no_scope.json().at("changes").as_array().empty());
  }
  CHECK(server.terminate() == 0);
}
