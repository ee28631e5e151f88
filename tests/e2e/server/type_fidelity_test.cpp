// Type fidelity, differential against PostgreSQL: a table with a column of every type a CRM
// schema uses, filled with random values from the edges of each type, read back through
// every path (the WebSocket snapshot and live changes, delta pulls, their snapshot pages,
// the Shape API), before the first start (initial load) and after (replication).
//
// PostgreSQL is the judge. A value of fieldsync's JSON form is turned back into text by the
// documented inverse, PostgreSQL reads it as the column's type and prints it, and that must
// be what it prints for the stored value; a Shape API value must be PostgreSQL's text byte
// for byte. Every JSON number must be one a browser's double holds exactly, and one value
// must have one spelling on every path.

#include "protocol/json_parse.hpp"
#include "protocol/pg_type.hpp"
#include "protocol/value_json.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// A column: its SQL type and values from the edges of that type (SQL literals).
struct column_def {
  std::string name;
  std::string sql_type;
  std::vector<std::string> values;
};

const std::vector<column_def>& columns() {
  static const std::vector<column_def> defs{
      {"b", "boolean", {"true", "false"}},
      {"i2", "int2", {"-32768", "32767", "0", "-1", "12345"}},
      {"i4", "int4", {"-2147483648", "2147483647", "0", "7", "-99999"}},
      {"i8",
       "int8",
       {"-9223372036854775808", "9223372036854775807", "9007199254740991", "9007199254740992",
        "9007199254740993", "-9007199254740993", "0", "42"}},
      {"n",
       "numeric",
       {"'NaN'", "'Infinity'", "'-Infinity'", "0.1", "12.50", "-0.000000000000000000001",
        "123456789012345678901234567890.123456789012345678901234567890", "1e-130", "0", "0.5",
        "9007199254740993", "1.7976931348623157e308", "-1000000000000000000000"}},
      {"n2", "numeric(30,10)", {"12.5", "0", "-99999999999999999999.9999999999", "0.0000000001"}},
      {"f4",
       "float4",
       {"1.1", "3.4028235e38", "-3.4028235e38", "1.4e-45", "1.17549435e-38", "'NaN'",
        "'Infinity'", "'-Infinity'", "'-0'", "16777217", "0.1", "1e6", "123456", "1e-5"}},
      {"f8",
       "float8",
       {"1.4000000000000001", "1.7976931348623157e308", "-1.7976931348623157e308", "4.9e-324",
        "2.2250738585072014e-308", "'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "0.1", "1e21",
        "123456789012345680000", "1e15", "999999999999999", "0.0001", "0.00001", "3"}},
      {"t",
       "text",
       {"''", "'plain'", "E'tab\\there\\nnew line\\r\\x01\\x1f'", "'quote \" and \\ backslash'",
        "'unicode ✓ Grüße 😀 ﷽'", "'NULL'", "'{\"not\": \"json\"}'", "repeat('x', 3000)",
        "E'\\u2028 line separator'"}},
      {"vc", "varchar(50)", {"'a'", "'  padded  '", "''"}},
      {"c", "char(5)", {"'ab'", "'abcde'", "''"}},
      {"by", "bytea", {"'\\x'", "'\\x00ff10'", "decode(repeat('ab', 100), 'hex')"}},
      {"u",
       "uuid",
       {"'00000000-0000-0000-0000-000000000000'", "'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'",
        "'6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8'"}},
      {"d",
       "date",
       {"'4713-01-01 BC'", "'5874897-12-31'", "'0001-01-01'", "'0001-12-31 BC'",
        "'0044-03-15 BC'", "'2024-02-29'", "'infinity'", "'-infinity'", "'10000-01-01'",
        "'9999-12-31'"}},
      {"tm", "time", {"'00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:00:00.5'"}},
      {"ttz",
       "timetz",
       {"'12:34:56.789+05:30'", "'00:00:00-15:59'", "'23:59:59.999999+15:59'", "'11:00:00+00'"}},
      {"ts",
       "timestamp",
       {"'4713-01-01 00:00:00 BC'", "'294276-12-31 23:59:59.999999'", "'infinity'",
        "'-infinity'", "'2026-11-25 11:04:51.5'", "'0001-01-01 00:00:00'",
        "'0010-06-30 12:00:00 BC'"}},
      {"tstz",
       "timestamptz",
       {"'2026-11-25 11:04:51.123456+02'", "'4713-01-01 00:00:00+00 BC'",
        "'294276-12-31 23:59:59.999999+00'", "'infinity'", "'-infinity'",
        "'0001-01-01 00:30:00+01'", "'1999-12-31 23:59:59.999999-12'"}},
      {"iv",
       "interval",
       {"'1 year 2 mons 3 days 04:05:06.789'", "'-178000000 years'", "'1 mon -1 day'", "'0'",
        "'-00:00:00.000001'", "'178000000 years'"}},
      {"j",
       "json",
       {"'{\"b\":1,\"a\":2,\"a\":3}'", "'  [1, 2.50, 1e400]  '", "'\"\\u0000 escaped\"'",
        "'98765432109876543210'", "'null'", "'{\"n\": 0.1}'"}},
      {"jb",
       "jsonb",
       {"'{\"n\":0.1,\"big\":98765432109876543210,\"deep\":{\"x\":[1,2,{\"y\":null}]}}'",
        "'1e-7'", "'\"str\"'", "'null'", "'[]'", "'{\"e\":\"é\",\"tiny\":1e-300}'",
        "'123456789.123456789123456789'"}},
      {"e", "mood", {"'sad'", "'happy 😀'", "'with \"quote'"}},
      {"dom", "posint", {"1", "2147483647"}},
      {"ai",
       "int4[]",
       {"'{1,NULL,3}'", "'{{1,2},{3,4}}'", "'[0:1]={7,8}'", "'{}'", "'{-2147483648}'"}},
      {"at",
       "text[]",
       {"'{\"a,b\",\"NULL\",NULL,\"\",\"quote\\\"back\\\\\\\\slash\",\" spaced \",\"{x}\"}'",
        "'{{a,b},{c,d}}'", "'{é,😀}'"}},
      {"af", "float8[]", {"'{NaN,Infinity,-0,1.4000000000000001,1e-300}'"}},
      {"an", "numeric[]", {"'{0.1,12.50,NaN,5}'"}},
      {"ad", "date[]", {"'{\"4713-01-01 BC\",infinity,2026-01-01}'"}},
      {"ajb", "jsonb[]", {"'{\"{\\\"a\\\": 1}\",NULL,\"[1, 2]\"}'", "'{{1,2},{3,4}}'"}},
      {"ab", "bool[]", {"'{t,f,NULL}'"}},
      {"ats", "timestamptz[]", {"'{\"2026-11-25 11:04:51+02\",-infinity}'"}},
      {"ai8", "int8[]", {"'{9007199254740993,1}'"}},
  };
  return defs;
}

std::string create_schema_sql() {
  std::string sql =
      "CREATE TYPE mood AS ENUM ('sad', 'happy 😀', 'with \"quote');"
      "CREATE DOMAIN posint AS integer CHECK (VALUE > 0);"
      "CREATE TABLE fidelity (id bigint PRIMARY KEY";
  for (const auto& c : columns()) sql += ", " + c.name + " " + c.sql_type;
  return sql + "); ALTER TABLE fidelity REPLICA IDENTITY FULL;";
}

// A row of random values (NULL now and then), every value of every column appearing in
// some row: value i of a column goes to row i, the rest are random.
std::string row_values(std::int64_t id, std::size_t index, std::mt19937_64& rng) {
  std::string sql = "(" + std::to_string(id);
  for (const auto& c : columns()) {
    sql += ", ";
    if (index < c.values.size()) {
      sql += c.values[index];
    } else if (rng() % 8 == 0) {
      sql += "NULL";
    } else {
      sql += c.values[rng() % c.values.size()];
    }
  }
  return sql + ")";
}

void insert_rows(const std::string& dsn, std::int64_t first, std::size_t n, std::mt19937_64& rng) {
  std::string sql = "INSERT INTO fidelity VALUES ";
  for (std::size_t i = 0; i < n; ++i) sql += (i ? "," : "") + row_values(first + static_cast<std::int64_t>(i), i, rng);
  auto c = pg_connect(dsn);
  pg_exec(c.get(), sql);
}

using text_row = std::map<std::string, std::optional<std::string>>;

// A connection with the settings docs/protocol.md names for the Shape API's text.
pg_conn_ptr documented_session(const std::string& dsn) {
  auto c = pg_connect(dsn);
  pg_exec(c.get(),
          "SET DateStyle = ISO; SET TimeZone = UTC; SET IntervalStyle = iso_8601; "
          "SET extra_float_digits = 3; SET bytea_output = hex");
  return c;
}

// PostgreSQL's own text of every stored value (text-format results: output functions).
std::map<std::string, text_row> truth(const std::string& dsn) {
  auto c = documented_session(dsn);
  std::string sql = "SELECT id";
  for (const auto& col : columns()) sql += ", " + col.name;
  auto r = pg_exec(c.get(), sql + " FROM fidelity");
  std::map<std::string, text_row> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    text_row row;
    for (int j = 0; j < PQnfields(r.get()); ++j) {
      row[PQfname(r.get(), j)] =
          PQgetisnull(r.get(), i, j) ? std::nullopt
                                     : std::optional<std::string>(PQgetvalue(r.get(), i, j));
    }
    out[*row["id"]] = std::move(row);
  }
  return out;
}

// The column types as the server declares them (GET /v1/collections).
std::map<std::string, fieldsync::protocol::column_type> declared_types(std::uint16_t port,
                                                                      const headers& auth) {
  auto reply = http_call(port, http::verb::get, "/v1/collections", {}, auth);
  REQUIRE(reply.status == 200);
  std::map<std::string, fieldsync::protocol::column_type> out;
  const auto body = reply.json();  // kept alive for the loop below
  for (const auto& c : body.at("collections").as_array()) {
    if (c.at("name") != "fidelity") continue;
    for (const auto& col : c.at("columns").as_array()) {
      const std::string_view type = col.at("type").as_string();
      fieldsync::protocol::column_type t = fieldsync::protocol::describe_type(0);
      for (const auto& known : fieldsync::protocol::known_column_types()) {
        if (known.name == type) t = known;
      }
      out[std::string(col.at("name").as_string())] = t;
    }
  }
  return out;
}

// Every JSON number in `v` is one a double holds exactly (what a browser reads).
bool double_safe(const json::value& v) {
  constexpr std::int64_t safe = (std::int64_t{1} << 53) - 1;
  switch (v.kind()) {
    case json::kind::int64: return v.get_int64() >= -safe && v.get_int64() <= safe;
    case json::kind::uint64: return v.get_uint64() <= static_cast<std::uint64_t>(safe);
    case json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!double_safe(e)) return false;
      }
      return true;
    default: return true;
  }
}

using json_rows = std::map<std::string, json::object>;

// Checks rows in fieldsync's JSON form against the truth, through PostgreSQL: each value's
// documented text, read by PostgreSQL as the column's type and printed again, must be what
// PostgreSQL prints for the stored value.
void check_json_rows(const std::string& path, const json_rows& got,
                     const std::map<std::string, text_row>& want,
                     const std::map<std::string, fieldsync::protocol::column_type>& types,
                     const std::string& dsn) {
  INFO("path: " << path);
  CHECK(got.size() == want.size());
  auto c = documented_session(dsn);
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < columns().size(); ++i) {
    sql += (i ? ", $" : "$") + std::to_string(i + 1) + "::" + columns()[i].sql_type;
  }
  std::size_t mismatches = 0;
  for (const auto& [key, row] : got) {
    auto it = want.find(key);
    if (it == want.end()) {
      FAIL_CHECK("row " << key << " is not in the database");
      continue;
    }
    std::vector<std::optional<std::string>> texts;
    for (const auto& col : columns()) {
      const auto* v = row.if_contains(col.name);
      if (!v) {
        FAIL_CHECK("row " << key << " lacks column " << col.name);
        texts.emplace_back();
        continue;
      }
      CHECK(double_safe(*v));
      if (v->is_null()) {
        texts.emplace_back();
        continue;
      }
      auto text = fieldsync::protocol::json_to_text(types.at(col.name), *v);
      if (!text) {
        FAIL_CHECK("row " << key << " column " << col.name << ": " << json::serialize(*v)
                          << " has no text: " << text.error().message());
        texts.emplace_back();
        continue;
      }
      texts.emplace_back(std::move(*text));
    }
    std::vector<const char*> params;
    for (const auto& t : texts) params.push_back(t ? t->c_str() : nullptr);
    pg_result_ptr r(PQexecParams(c.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                                 params.data(), nullptr, nullptr, 0),
                    &PQclear);
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      FAIL_CHECK("row " << key << ": PostgreSQL refused the values: "
                        << PQresultErrorMessage(r.get()));
      continue;
    }
    for (std::size_t i = 0; i < columns().size(); ++i) {
      const auto& name = columns()[i].name;
      const int col = static_cast<int>(i);
      std::optional<std::string> back =
          PQgetisnull(r.get(), 0, col) ? std::nullopt
                                       : std::optional<std::string>(PQgetvalue(r.get(), 0, col));
      const auto& stored = it->second.at(name);
      if (back != stored && ++mismatches <= 20) {
        FAIL_CHECK("row " << key << " column " << name << ": received "
                          << json::serialize(row.at(name)) << ", which PostgreSQL reads as "
                          << back.value_or("NULL") << ", but it holds "
                          << stored.value_or("NULL"));
      }
    }
  }
  CHECK(mismatches == 0);
}

std::string bearer_token() { return test_token("fidelity", {1}); }

// Delta pulls from `cursor` (a snapshot when empty) until caught up; applies them to `rows`.
std::string pull(std::uint16_t port, const headers& auth, std::string cursor, json_rows& rows) {
  for (int pages = 0; pages < 1000; ++pages) {
    auto reply = http_call(port, http::verb::get,
                           "/v1/collections/fidelity/changes?limit=7&cursor=" + cursor, {}, auth);
    REQUIRE(reply.status == 200);
    auto body = reply.json().as_object();
    for (const auto& e : body.at("changes").as_array()) {
      const auto& entry = e.as_object();
      const std::string key(entry.at("key").as_string());
      if (entry.at("op") == "delete") {
        rows.erase(key);
      } else {
        rows[key] = entry.at("row").as_object();
      }
    }
    cursor = std::string(body.at("cursor").as_string());
    if (!body.at("has_more").as_bool()) return cursor;
  }
  FAIL("the pull did not end");
  return cursor;
}

struct shape_state {
  std::string handle;
  std::string offset = "-1";
  std::map<std::string, json::object> rows;  // by the message key
};

// Shape API requests until up-to-date.
void shape_sync(std::uint16_t port, const headers& auth, shape_state& s) {
  for (int requests = 0; requests < 1000; ++requests) {
    std::string target = "/v1/shape?table=fidelity&offset=" + s.offset;
    if (!s.handle.empty()) target += "&handle=" + s.handle;
    auto reply = http_call(port, http::verb::get, target, {}, auth);
    REQUIRE(reply.status == 200);
    s.handle = reply.header("electric-handle");
    s.offset = reply.header("electric-offset");
    bool up_to_date = false;
    const auto messages = reply.json();  // kept alive for the loop below
    for (const auto& m : messages.as_array()) {
      const auto& msg = m.as_object();
      const auto& headers = msg.at("headers").as_object();
      if (headers.contains("control")) {
        up_to_date = up_to_date || headers.at("control") == "up-to-date";
        continue;
      }
      const std::string key(msg.at("key").as_string());
      if (headers.at("operation") == "delete") {
        s.rows.erase(key);
      } else {
        s.rows[key] = msg.at("value").as_object();
      }
    }
    if (up_to_date) return;
  }
  FAIL("the shape did not catch up");
}

// Shape values are PostgreSQL's text, byte for byte.
void check_shape_rows(const shape_state& s, const std::map<std::string, text_row>& want) {
  INFO("path: shape");
  CHECK(s.rows.size() == want.size());
  std::size_t mismatches = 0;
  for (const auto& [key, value] : s.rows) {
    const std::string id(value.at("id").as_string());
    auto it = want.find(id);
    if (it == want.end()) {
      FAIL_CHECK("shape row " << key << " is not in the database");
      continue;
    }
    for (const auto& col : columns()) {
      const auto* v = value.if_contains(col.name);
      std::optional<std::string> got;
      if (v && v->is_string()) got = std::string(v->get_string());
      if (!v || (!v->is_null() && !v->is_string())) {
        FAIL_CHECK("shape row " << id << " column " << col.name << " is not text or null");
        continue;
      }
      if (got != it->second.at(col.name) && ++mismatches <= 20) {
        FAIL_CHECK("shape row " << id << " column " << col.name << ": "
                                << got.value_or("NULL") << " but PostgreSQL holds "
                                << it->second.at(col.name).value_or("NULL"));
      }
    }
  }
  CHECK(mismatches == 0);
}

// One value has one spelling: the rows of two paths are the same JSON, key for key.
void check_same(const std::string& what, const json_rows& a, const json_rows& b) {
  INFO(what);
  REQUIRE(a.size() == b.size());
  for (const auto& [key, row] : a) {
    auto it = b.find(key);
    REQUIRE(it != b.end());
    for (const auto& col : columns()) {
      CHECK(json::serialize(row.at(col.name)) == json::serialize(it->second.at(col.name)));
    }
  }
}

json_rows view_rows(sync_client& c, const std::string& id) {
  json_rows out;
  for (const auto& [key, row] : c.view(id).rows) out[key] = row;
  return out;
}

std::uint64_t test_seed() {
  if (const char* s = std::getenv("FIELDSYNC_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

}  // namespace

TEST_CASE("type fidelity: every value on every path is what PostgreSQL holds",
          "[e2e][values]") {
  const auto seed = test_seed();
  INFO("FIELDSYNC_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  fresh_database db;
  const auto dsn = db.conninfo();
  {
    auto c = pg_connect(dsn);
    pg_exec(c.get(), create_schema_sql());
  }
  create_items_schema(dsn);  // live_sync_sections' collection
  // Before the first start: the initial load's path.
  insert_rows(dsn, 1, 40, rng);

  server_process server(dsn, live_sync_sections(db, "[collections.fidelity]\n"
                                                    "primary_key = [\"id\"]\n"
                                                    "public = true\n"));
  wait_for_collection(server, dsn, "fidelity");
  const headers auth{{"Authorization", "Bearer " + bearer_token()}};
  const auto types = declared_types(server.public_port(), auth);
  REQUIRE(types.size() == columns().size() + 1);

  sync_client live(server.public_port(), bearer_token(), "fidelity-live");
  live.seq_column = "";
  live.subscribe("all", "fidelity");
  REQUIRE(live.run_until([&] { return live.view("all").up_to_date; }, 60s));
  json_rows pulled;
  const auto pull_cursor = pull(server.public_port(), auth, "", pulled);
  shape_state shape;
  shape_sync(server.public_port(), auth, shape);

  auto loaded = truth(dsn);
  check_json_rows("websocket snapshot of the initial load", view_rows(live, "all"), loaded, types, dsn);
  check_json_rows("pull snapshot of the initial load", pulled, loaded, types, dsn);
  check_shape_rows(shape, loaded);
  check_same("websocket and pull snapshots", view_rows(live, "all"), pulled);

  // After the start: the replication path, inserts and updates (every column rewritten
  // with other values) and a delete.
  insert_rows(dsn, 1001, 40, rng);
  {
    auto c = pg_connect(dsn);
    std::string sql = "UPDATE fidelity f SET ";
    for (std::size_t i = 0; i < columns().size(); ++i) {
      sql += (i ? ", " : "") + columns()[i].name + " = s." + columns()[i].name;
    }
    sql += " FROM (SELECT * FROM fidelity WHERE id > 1000) s WHERE f.id = s.id - 1000 + 5";
    pg_exec(c.get(), sql);
    pg_exec(c.get(), "DELETE FROM fidelity WHERE id = 3");
    pg_exec(c.get(), "INSERT INTO fidelity (id) VALUES (999999)");  // the marker
  }
  REQUIRE(live.run_until([&] { return live.view("all").rows.contains("999999"); }, 60s));
  CHECK(live.errors().empty());
  pull(server.public_port(), auth, pull_cursor, pulled);
  shape_sync(server.public_port(), auth, shape);
  sync_client fresh(server.public_port(), bearer_token(), "fidelity-fresh");
  fresh.seq_column = "";
  fresh.subscribe("all", "fidelity");
  REQUIRE(fresh.run_until([&] { return fresh.view("all").up_to_date; }, 60s));
  json_rows fresh_pull;
  pull(server.public_port(), auth, "", fresh_pull);

  auto replicated = truth(dsn);
  check_json_rows("websocket live changes", view_rows(live, "all"), replicated, types, dsn);
  check_json_rows("websocket snapshot from the log", view_rows(fresh, "all"), replicated, types, dsn);
  check_json_rows("delta pulls", pulled, replicated, types, dsn);
  check_json_rows("pull snapshot from the log", fresh_pull, replicated, types, dsn);
  check_shape_rows(shape, replicated);
  check_same("live changes and a later snapshot", view_rows(live, "all"), view_rows(fresh, "all"));
  check_same("delta pulls and a later pull snapshot", pulled, fresh_pull);
  check_same("websocket and pulls", view_rows(live, "all"), pulled);
}
