// Primary-key changes (UPDATE t SET id = ...): for every reader the old key's row is gone
// and the new key's row is new, on every path (WebSocket live and snapshot, delta pulls,
// the Shape API), with single and composite keys, within the scope and across it, and for
// keys swapped inside one transaction.

#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr const char* schema_sql =
    "CREATE TABLE one_key (id bigint PRIMARY KEY, territory_id bigint NOT NULL, v text);"
    "CREATE TABLE two_keys (a int, b text, territory_id bigint NOT NULL, v text, "
    "  PRIMARY KEY (a, b));"
    "ALTER TABLE one_key REPLICA IDENTITY FULL; ALTER TABLE two_keys REPLICA IDENTITY FULL;"
    "INSERT INTO one_key SELECT g, 1 + g % 2, 'r' || g FROM generate_series(1, 20) g;"
    "INSERT INTO two_keys SELECT g, 'k' || g, 1 + g % 2, 'r' || g FROM generate_series(1, 20) g;";

const std::string sections =
    "[collections.one_key]\n"
    "primary_key = [\"id\"]\n"
    "read_scope = \"territory_id = ANY($claims.territories)\"\n"
    "[collections.two_keys]\n"
    "primary_key = [\"a\", \"b\"]\n"
    "read_scope = \"territory_id = ANY($claims.territories)\"\n";

// The scoped rows of a collection as the database holds them: key -> the key columns and v.
std::map<std::string, std::string> expected(const std::string& dsn, const std::string& table,
                                            std::int64_t territory) {
  auto c = pg_connect(dsn);
  const std::string key = table == "one_key" ? "id::text" : "json_build_array(a, b)::text";
  auto r = pg_exec(c.get(), "SELECT " + key + ", v FROM " + table +
                                " WHERE territory_id = " + std::to_string(territory));
  std::map<std::string, std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out[PQgetvalue(r.get(), i, 0)] = PQgetvalue(r.get(), i, 1);
  return out;
}

// json_build_array prints "[1, \"k1\"]"; fieldsync's canonical key is compact JSON.
std::string canonical(std::string key) {
  std::string out;
  bool in_string = false;
  for (char c : key) {
    if (c == '"') in_string = !in_string;
    if (c == ' ' && !in_string) continue;
    out += c;
  }
  return out;
}

std::map<std::string, std::string> canonical_keys(const std::map<std::string, std::string>& rows) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : rows) out[canonical(k)] = v;
  return out;
}

std::map<std::string, std::string> values_of(const std::map<std::string, json::object>& rows) {
  std::map<std::string, std::string> out;
  for (const auto& [k, row] : rows) out[k] = std::string(row.at("v").as_string());
  return out;
}

// Pulls from `cursor` (a snapshot when empty) until caught up, applying to `rows`.
std::string pull(std::uint16_t port, const headers& auth, const std::string& collection,
                 std::string cursor, std::map<std::string, json::object>& rows) {
  for (int pages = 0; pages < 100; ++pages) {
    auto reply = http_call(port, http::verb::get,
                           "/v1/collections/" + collection + "/changes?limit=5&cursor=" + cursor,
                           {}, auth);
    REQUIRE(reply.status == 200);
    auto body = reply.json().as_object();
    for (const auto& e : body.at("changes").as_array()) {
      const std::string key(e.at("key").as_string());
      if (e.at("op") == "delete") {
        rows.erase(key);
      } else {
        rows[key] = e.at("row").as_object();
      }
    }
    cursor = std::string(body.at("cursor").as_string());
    if (!body.at("has_more").as_bool()) return cursor;
  }
  FAIL("the pull did not end");
  return cursor;
}

struct shape_client {
  std::string table;
  std::string handle;
  std::string offset = "-1";
  std::map<std::string, json::object> rows;  // by message key

  void sync(std::uint16_t port, const headers& auth) {
    for (int requests = 0; requests < 100; ++requests) {
      std::string target = "/v1/shape?table=" + table + "&offset=" + offset;
      if (!handle.empty()) target += "&handle=" + handle;
      auto reply = http_call(port, http::verb::get, target, {}, auth);
      REQUIRE(reply.status == 200);
      handle = reply.header("electric-handle");
      offset = reply.header("electric-offset");
      bool done = false;
      const auto messages = reply.json();  // kept alive for the loop below
      for (const auto& m : messages.as_array()) {
        const auto& h = m.at("headers").as_object();
        if (h.contains("control")) {
          done = done || h.at("control") == "up-to-date";
          continue;
        }
        const std::string key(m.at("key").as_string());
        if (h.at("operation") == "delete") {
          rows.erase(key);
        } else if (h.at("operation") == "insert") {
          CHECK_FALSE(rows.contains(key));
          rows[key] = m.at("value").as_object();
        } else {
          REQUIRE(rows.contains(key));
          for (const auto& kv : m.at("value").as_object()) rows[key][kv.key()] = kv.value();
        }
      }
      if (done) return;
    }
    FAIL("the shape did not catch up");
  }

  std::map<std::string, std::string> values() const {
    std::map<std::string, std::string> out;
    for (const auto& [k, row] : rows) {
      if (table == "one_key") {
        out[std::string(row.at("id").as_string())] = std::string(row.at("v").as_string());
      } else {
        out["[" + std::string(row.at("a").as_string()) + ",\"" +
            std::string(row.at("b").as_string()) + "\"]"] = std::string(row.at("v").as_string());
      }
    }
    return out;
  }
};

}  // namespace

TEST_CASE("key changes: the old key's row is gone on every path, scope moves included",
          "[e2e][keys]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  {
    auto c = pg_connect(dsn);
    pg_exec(c.get(), schema_sql);
  }
  create_items_schema(dsn);  // live_sync_sections' collection
  server_process server(dsn, live_sync_sections(db, sections));
  wait_for_collection(server, dsn, "one_key");
  wait_for_collection(server, dsn, "two_keys");

  struct reader {
    std::int64_t territory = 0;
    std::unique_ptr<sync_client> ws;
    std::map<std::string, std::map<std::string, json::object>> pulled;
    std::map<std::string, std::string> cursors;
    std::map<std::string, shape_client> shapes;
  };
  std::vector<reader> readers;
  for (std::int64_t t : {1, 2}) {
    reader r;
    r.territory = t;
    r.ws = std::make_unique<sync_client>(server.public_port(),
                                         test_token("user" + std::to_string(t), {t}),
                                         "keys-" + std::to_string(t));
    r.ws->seq_column = "";
    const headers auth{{"Authorization", "Bearer " + test_token("user" + std::to_string(t), {t})}};
    for (const std::string table : {"one_key", "two_keys"}) {
      r.ws->subscribe(table, table);
      r.cursors[table] = pull(server.public_port(), auth, table, "", r.pulled[table]);
      r.shapes[table].table = table;
      r.shapes[table].sync(server.public_port(), auth);
    }
    REQUIRE(r.ws->run_until(
        [&] { return r.ws->view("one_key").up_to_date && r.ws->view("two_keys").up_to_date; },
        60s));
    readers.push_back(std::move(r));
  }

  {
    auto c = pg_connect(dsn);
    // Inside the scope; across it (1 -> 2 and 2 -> 1 with the key); composite keys, one part
    // and both; a swap of two keys in one transaction; a key changed twice in one transaction.
    pg_exec(c.get(),
            "UPDATE one_key SET id = id + 100 WHERE id = 2;"
            "UPDATE one_key SET id = 200, territory_id = 1 WHERE id = 1;"
            "UPDATE one_key SET id = 300, territory_id = 2 WHERE id = 4;"
            "BEGIN; UPDATE one_key SET id = -5 WHERE id = 5; UPDATE one_key SET id = 5 WHERE id = 7;"
            "  UPDATE one_key SET id = 7 WHERE id = -5; COMMIT;"
            "BEGIN; UPDATE one_key SET id = 400 WHERE id = 9; UPDATE one_key SET id = 401, v = 'twice' "
            "  WHERE id = 400; COMMIT;"
            "UPDATE two_keys SET b = 'changed' WHERE a = 2;"
            "UPDATE two_keys SET a = 102, b = 'both', territory_id = 1 WHERE a = 4;"
            "UPDATE two_keys SET a = a + 1000 WHERE a IN (6, 8);"
            "INSERT INTO one_key VALUES (999, 1, 'marker'), (998, 2, 'marker');"
            "INSERT INTO two_keys VALUES (999, 'm', 1, 'marker'), (998, 'm', 2, 'marker');");
  }

  for (auto& r : readers) {
    INFO("territory " << r.territory);
    const headers auth{
        {"Authorization", "Bearer " + test_token("user" + std::to_string(r.territory), {r.territory})}};
    const std::string marker = r.territory == 1 ? "999" : "998";
    REQUIRE(r.ws->run_until(
        [&] {
          return r.ws->view("one_key").rows.contains(marker) &&
                 r.ws->view("two_keys").rows.contains("[" + marker + ",\"m\"]");
        },
        60s));
    CHECK(r.ws->errors().empty());
    sync_client fresh(server.public_port(),
                      test_token("user" + std::to_string(r.territory), {r.territory}), "keys-fresh");
    fresh.seq_column = "";
    for (const std::string table : {"one_key", "two_keys"}) {
      INFO(table);
      const auto want = canonical_keys(expected(dsn, table, r.territory));
      CHECK(values_of(r.ws->view(table).rows) == want);
      pull(server.public_port(), auth, table, r.cursors[table], r.pulled[table]);
      CHECK(values_of(r.pulled[table]) == want);
      r.shapes[table].sync(server.public_port(), auth);
      CHECK(r.shapes[table].values() == want);
      fresh.subscribe(table, table);
    }
    REQUIRE(fresh.run_until(
        [&] { return fresh.view("one_key").up_to_date && fresh.view("two_keys").up_to_date; }, 60s));
    for (const std::string table : {"one_key", "two_keys"}) {
      CHECK(values_of(fresh.view(table).rows) == canonical_keys(expected(dsn, table, r.territory)));
    }
  }
}
