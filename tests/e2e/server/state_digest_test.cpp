// GET /v1/collections/{name}/digest against the real binary: the digest of the rows a
// client holding a cursor has (as a snapshot pull delivered them), before and after later
// changes (the digest at an old cursor does not move), with a filter, and the refusals a
// pull would give.

#include "protocol/row_digest.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/pull_fixture.hpp"
#include "tests/support/server_process.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// key -> row, as a client holds them after applying pulls from no cursor to the end.
struct held {
  std::map<std::string, json::object> rows;
  std::string cursor;
};

void pull_all(std::uint16_t port, const std::string& token, held& h, const std::string& where = "") {
  for (;;) {
    std::string target = "/v1/collections/accounts/changes?limit=50&cursor=" + url_encode(h.cursor);
    if (!where.empty()) target += "&where=" + url_encode(where);
    auto r = http_call(port, http::verb::get, target, {}, {{"Authorization", "Bearer " + token}});
    REQUIRE(r.status == 200);
    auto page = r.json().as_object();
    for (const auto& c : page.at("changes").as_array()) {
      std::string key(c.at("key").as_string());
      if (c.at("op").as_string() == "upsert")
        h.rows[key] = c.at("row").as_object();
      else
        h.rows.erase(key);
    }
    h.cursor = std::string(page.at("cursor").as_string());
    if (!page.at("has_more").as_bool()) return;
  }
}

std::pair<std::uint64_t, std::string> local_digest(const held& h) {
  fieldsync::protocol::row_digest d;
  for (const auto& [key, row] : h.rows) {
    auto canonical = fieldsync::protocol::canonical_row_text(json::serialize(row));
    REQUIRE(canonical);
    d.add(fieldsync::protocol::row_hash(key, *canonical));
  }
  return {d.rows(), d.hex()};
}

json::object server_digest(std::uint16_t port, const std::string& token, const std::string& cursor,
                           const std::string& where = "") {
  std::string target = "/v1/collections/accounts/digest?cursor=" + url_encode(cursor);
  if (!where.empty()) target += "&where=" + url_encode(where);
  auto r = http_call(port, http::verb::get, target, {}, {{"Authorization", "Bearer " + token}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json().as_object();
}

}  // namespace

TEST_CASE("state check: the digest of the rows at a cursor, before and after later changes",
          "[e2e][pull][digest]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  exec_sql(dsn,
           "INSERT INTO pull_accounts (id, territory_id, stage, amount, note) "
           "SELECT g, 1 + g % 3, CASE WHEN g % 4 = 0 THEN 'won' ELSE 'lead' END, g * 1.25, "
           "CASE WHEN g % 5 = 0 THEN E'line\\nbreak \"q\" é' END FROM generate_series(1, 120) g");
  server_process server(dsn, pull_sections(db.name()));
  wait_for_pull_log(dsn);
  const auto token = sign_token({{"territories", json::array{1, 2}}});
  const auto port = server.public_port();

  held before;
  pull_all(port, token, before);
  auto [n1, d1] = local_digest(before);
  REQUIRE(n1 > 50);
  auto at1 = server_digest(port, token, before.cursor);
  CHECK(at1.at("rows").as_int64() == static_cast<std::int64_t>(n1));
  CHECK(std::string(at1.at("digest").as_string()) == d1);
  CHECK(std::string(at1.at("cursor").as_string()) == before.cursor);

  // Updates, deletes, inserts and rows moving in and out of the scope after the cursor.
  exec_sql(dsn, "UPDATE pull_accounts SET stage = 'won', amount = 7 WHERE id BETWEEN 1 AND 10");
  exec_sql(dsn, "DELETE FROM pull_accounts WHERE id BETWEEN 11 AND 15");
  exec_sql(dsn, "UPDATE pull_accounts SET territory_id = 3 WHERE id IN (16, 17)");
  exec_sql(dsn, "UPDATE pull_accounts SET territory_id = 1 WHERE id IN (18, 21)");
  exec_sql(dsn, "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (1000, 1, 'lead')");
  held after = before;
  for (int i = 0; i < 200; ++i) {
    pull_all(port, token, after);
    if (after.rows.contains("1000")) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(after.rows.contains("1000"));
  auto [n2, d2] = local_digest(after);
  CHECK(d2 != d1);
  auto at2 = server_digest(port, token, after.cursor);
  CHECK(at2.at("rows").as_int64() == static_cast<std::int64_t>(n2));
  CHECK(std::string(at2.at("digest").as_string()) == d2);
  // The old cursor still describes the old rows.
  auto again1 = server_digest(port, token, before.cursor);
  CHECK(std::string(again1.at("digest").as_string()) == d1);
  CHECK(again1.at("rows").as_int64() == static_cast<std::int64_t>(n1));

  // A filter: the digest of the filtered rows.
  held won;
  pull_all(port, token, won, "stage = 'won'");
  auto [n3, d3] = local_digest(won);
  auto filtered = server_digest(port, token, won.cursor, "stage = 'won'");
  CHECK(filtered.at("rows").as_int64() == static_cast<std::int64_t>(n3));
  CHECK(std::string(filtered.at("digest").as_string()) == d3);

  // Refusals as a pull gives them.
  auto auth = headers{{"Authorization", "Bearer " + token}};
  CHECK(http_call(port, http::verb::get, "/v1/collections/accounts/digest", {}, auth).status == 400);
  CHECK(http_call(port, http::verb::get, "/v1/collections/accounts/digest?cursor=nonsense", {}, auth).status == 400);
  CHECK(
      http_call(port, http::verb::get,
                "/v1/collections/accounts/digest?cursor=" + url_encode(before.cursor) + "&limit=3",
                {}, auth)
          .status == 400);
  auto epoch = before.cursor.substr(0, before.cursor.find('-'));
  auto other = std::to_string(std::stoll(epoch) + 1) + before.cursor.substr(epoch.size());
  auto reset = http_call(port, http::verb::get,
                         "/v1/collections/accounts/digest?cursor=" + url_encode(other), {}, auth);
  CHECK(reset.status == 409);
  CHECK(reset.json().at("error").at("reason").as_string() == "other_epoch");
  CHECK(http_call(port, http::verb::get,
                  "/v1/collections/accounts/digest?cursor=" + url_encode(before.cursor))
            .status == 401);
  CHECK(http_call(port, http::verb::get,
                  "/v1/collections/nope/digest?cursor=" + url_encode(before.cursor), {}, auth)
            .status == 404);
  CHECK(server.terminate() == 0);
}
