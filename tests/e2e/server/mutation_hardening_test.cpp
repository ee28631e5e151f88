// Hardening of client writes through the real binary (issue 15, items 7, 9, 13, 14, 17b):
// mutation ids at the top of the integer range, write scopes checked before any lock (and an
// out-of-scope key answered alike whether its row exists), column-level write control
// (writable_columns, server_set), the insert's scope on the row as stored, and the client
// ids a subject keeps (cap and retention).

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync::test;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// h_kpis: written by its rep only, a scope that decides on the key. h_visits: by territory
// (undecidable on the key), with column rules. h_notes: a scope a column default leaves.
void create_tables(const std::string& dsn) {
  create_mutation_schema(dsn, 1);
  exec_sql(
      dsn,
      "CREATE TABLE h_kpis (rep text NOT NULL, month int NOT NULL, calls int NOT NULL DEFAULT 0, "
      "PRIMARY KEY (rep, month));"
      "INSERT INTO h_kpis VALUES ('r2', 1, 5);"
      "CREATE TABLE h_visits (id int PRIMARY KEY, territory int NOT NULL, rep text NOT NULL, notes text, "
      "grade int, updated_at timestamptz NOT NULL DEFAULT '2000-01-01');"
      "INSERT INTO h_visits VALUES (20, 2, 'r2', 'theirs', NULL, '2000-01-01');"
      "CREATE TABLE h_notes (id int PRIMARY KEY, owner text NOT NULL, approved_by text DEFAULT 'boss', "
      "body text)");
}

std::string sections(const std::string& database, const std::string& mutations_extra = "") {
  return mutation_sections(database, "lock_timeout_ms = 60000\n" + mutations_extra) +
         "[collections.h_kpis]\n"
         "primary_key = [\"rep\", \"month\"]\n"
         "read_scope = \"rep = $claims.rep\"\n"
         "write_scope = \"rep = $claims.rep\"\n"
         "[collections.h_visits]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"territory = ANY($claims.territories)\"\n"
         "write_scope = \"territory = ANY($claims.territories)\"\n"
         "writable_columns = [\"territory\", \"notes\"]\n"
         "server_set = { rep = \"$claims.rep\", updated_at = \"now()\" }\n"
         "[collections.h_notes]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"owner = $claims.sub\"\n"
         "write_scope = \"owner = $claims.sub AND approved_by IS NULL\"\n";
}

// A push by rep r1 (subject u1) of territory 1, or by `subject` with the same claims.
http_reply push_as(std::uint16_t port, const json::value& batch,
                   const std::string& subject = "u1") {
  json::object claims{{"sub", subject}, {"rep", "r1"}, {"territories", json::array{1}}};
  return http_call(port, http::verb::post, "/v1/mutations", json::serialize(batch),
                   {{"Authorization", "Bearer " + hs256_token(std::move(claims))},
                    {"Content-Type", "application/json"}});
}

json::value batch(const std::string& client, json::array mutations) {
  return json::object{{"client_id", client}, {"mutations", std::move(mutations)}};
}

json::object mutation(std::int64_t id, std::string_view collection, std::string_view op,
                      json::object key, json::object set = {}) {
  json::object m{{"mutation_id", id}, {"collection", collection}, {"op", op}};
  if (!key.empty()) m["key"] = std::move(key);
  if (!set.empty()) m["set"] = std::move(set);
  return m;
}

json::object result(const http_reply& r, std::size_t i) {
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json().at("results").as_array().at(i).as_object();
}

std::string outcome(const http_reply& r, std::size_t i) {
  auto o = result(r, i);
  if (o.at("status") != "rejected") return std::string(o.at("status").as_string());
  return std::string(o.at("code").as_string());
}

}  // namespace

TEST_CASE("mutation ids near 2^63 are refused 400, and stored ids that high do not overflow",
          "[e2e][mutations][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_tables(dsn);
  server_process server(dsn, sections(db.name()));
  const auto port = server.public_port();

  for (const char* id :
       {"9223372036854775807", "9223372036854775806", "9007199254740992", "18446744073709551615"}) {
    INFO(id);
    auto r =
        http_call(port, http::verb::post, "/v1/mutations",
                  std::string(R"({"client_id":"big","mutations":[{"mutation_id":)") + id +
                      R"(,"collection":"h_kpis","op":"delete","key":{"rep":"r1","month":1}}]})",
                  {{"Authorization", "Bearer " + hs256_token({{"sub", "u1"}, {"rep", "r1"}})},
                   {"Content-Type", "application/json"}});
    CHECK(r.status == 400);
    CHECK(r.json().at("error").at("code") == "bad_request");
  }
  // The largest id followed by one more: refused whole, not wrapped.
  auto pair = push_as(
      port, batch("big",
                  {mutation(9007199254740991, "h_kpis", "delete", {{"rep", "r1"}, {"month", 1}}),
                   mutation(9007199254740991, "h_kpis", "delete", {{"rep", "r1"}, {"month", 2}})}));
  CHECK(pair.status == 400);
  // A new client must start at 1, whatever id it sends.
  auto gap = push_as(port, batch("top", {mutation(9007199254740991, "h_kpis", "delete",
                                                  {{"rep", "r1"}, {"month", 1}})}));
  CHECK(gap.status == 409);
  CHECK(gap.json().at("error").at("expected_mutation_id") == 1);
  auto first =
      push_as(port, batch("big", {mutation(1, "h_kpis", "delete", {{"rep", "r1"}, {"month", 1}})}));
  CHECK(outcome(first, 0) == "applied");

  // A client whose stored last id is at the very top (written by an older server): its ids
  // are duplicates, and nothing overflows on the way.
  exec_sql(
      dsn,
      "UPDATE fieldsync.mutation_clients SET last_mutation_id = 9223372036854775807 WHERE client_id = 'big'");
  auto dup =
      push_as(port, batch("big", {mutation(5, "h_kpis", "delete", {{"rep", "r1"}, {"month", 1}})}));
  CHECK(outcome(dup, 0) == "duplicate");
  // The server is still there (a sanitizer abort would have ended it).
  auto fine = push_as(
      port, batch("small", {mutation(1, "h_kpis", "insert", {}, {{"rep", "r1"}, {"month", 3}})}));
  CHECK(outcome(fine, 0) == "applied");
}

TEST_CASE("a key outside the write scope is refused before any lock, alike whether its row exists",
          "[e2e][mutations][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_tables(dsn);
  server_process server(dsn, sections(db.name()));
  const auto port = server.public_port();

  // Another transaction holds the out-of-scope rows for the whole test; the batch's lock
  // timeout (60 s) is longer than any test would wait, so a batch that waited would fail.
  auto holder = pg_connect(dsn);
  pg_exec(holder.get(), "BEGIN");
  pg_exec(holder.get(), "SELECT * FROM h_kpis WHERE rep = 'r2' FOR UPDATE");
  pg_exec(holder.get(), "SELECT * FROM h_visits WHERE id = 20 FOR UPDATE");

  auto r = push_as(
      port, batch("dev-1",
                  {mutation(1, "h_kpis", "delete", {{"rep", "r2"}, {"month", 1}}),  // exists
                   mutation(2, "h_kpis", "delete", {{"rep", "r2"}, {"month", 2}}),  // missing
                   mutation(3, "h_kpis", "update", {{"rep", "r2"}, {"month", 1}}, {{"calls", 9}}),
                   mutation(4, "h_kpis", "update", {{"rep", "r2"}, {"month", 2}}, {{"calls", 9}}),
                   mutation(5, "h_visits", "update", {{"id", 20}}, {{"notes", "mine"}}),
                   mutation(6, "h_visits", "delete", {{"id", 20}})}));
  REQUIRE(r.status == 200);
  // Where the scope decides on the key, existing and missing rows get the same answer.
  for (std::size_t i = 0; i < 4; ++i) {
    INFO(i);
    CHECK(outcome(r, i) == "forbidden");
    CHECK(result(r, i) == json::object{{"mutation_id", static_cast<std::int64_t>(i + 1)},
                                       {"status", "rejected"},
                                       {"code", "forbidden"},
                                       {"message", "the key is outside your write scope"}});
  }
  // Elsewhere a row outside the scope is refused from a read without locks (not row_locked).
  CHECK(outcome(r, 4) == "forbidden");
  CHECK(outcome(r, 5) == "forbidden");
  CHECK_FALSE(result(r, 4).contains("row"));
  pg_exec(holder.get(), "ROLLBACK");
  CHECK(query_value(dsn, "SELECT calls FROM h_kpis WHERE rep = 'r2' AND month = 1") == "5");
  CHECK(query_value(dsn, "SELECT notes FROM h_visits WHERE id = 20") == "theirs");

  // In-scope rows are still locked and written as before.
  auto own = push_as(
      port,
      batch("dev-1",
            {mutation(7, "h_kpis", "insert", {}, {{"rep", "r1"}, {"month", 1}, {"calls", 2}}),
             mutation(8, "h_kpis", "update", {{"rep", "r1"}, {"month", 1}}, {{"calls", 3}})}));
  CHECK(outcome(own, 0) == "applied");
  CHECK(outcome(own, 1) == "applied");
  CHECK(query_value(dsn, "SELECT calls FROM h_kpis WHERE rep = 'r1' AND month = 1") == "3");
}

TEST_CASE(
    "writable_columns and server_set: claims set on insert, now() on every write, others refused",
    "[e2e][mutations][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_tables(dsn);
  server_process server(dsn, sections(db.name()));
  const auto port = server.public_port();

  auto r = push_as(
      port,
      batch(
          "dev-1",
          {
              mutation(1, "h_visits", "insert", {}, {{"id", 1}, {"territory", 1}, {"notes", "a"}}),
              mutation(2, "h_visits", "insert", {}, {{"id", 2}, {"territory", 1}, {"rep", "r9"}}),
              mutation(3, "h_visits", "insert", {},
                       {{"id", 3},
                        {"territory", 1},
                        {"rep", "r1"},
                        {"updated_at", "1999-01-01T00:00:00Z"}}),
              mutation(4, "h_visits", "update", {{"id", 1}}, {{"rep", "r1"}}),
              mutation(5, "h_visits", "update", {{"id", 1}}, {{"grade", 5}}),
              mutation(6, "h_visits", "insert", {}, {{"id", 4}, {"territory", 1}, {"grade", 5}}),
          }));
  REQUIRE(r.status == 200);
  CHECK(outcome(r, 0) == "applied");
  CHECK(outcome(r, 1) == "forbidden");  // a claim column with another value
  CHECK(outcome(r, 2) == "applied");    // the claim's own value; updated_at is the server's
  CHECK(outcome(r, 3) == "forbidden");  // a claim column in an update
  CHECK(outcome(r, 4) == "forbidden");  // not writable
  CHECK(outcome(r, 5) == "forbidden");
  for (std::size_t i : {1U, 3U, 4U, 5U}) {
    CHECK_THAT(std::string(result(r, i).at("message").as_string()),
               Catch::Contains("column_not_writable"));
  }
  CHECK(query_value(
            dsn,
            "SELECT string_agg(id || ':' || rep, ',' ORDER BY id) FROM h_visits WHERE id < 10") ==
        "1:r1,3:r1");
  // now(): the transaction's time, not the column default (2000) nor the client's (1999).
  CHECK(
      query_value(
          dsn,
          "SELECT bool_and(updated_at > now() - interval '1 day') FROM h_visits WHERE id IN (1, 3)") ==
      "t");

  exec_sql(dsn, "UPDATE h_visits SET updated_at = '2000-01-01' WHERE id = 1");
  auto upd = push_as(
      port, batch("dev-1", {mutation(7, "h_visits", "update", {{"id", 1}},
                                     {{"notes", "b"}, {"updated_at", "1999-01-01T00:00:00Z"}})}));
  CHECK(outcome(upd, 0) == "applied");
  CHECK(
      query_value(
          dsn,
          "SELECT notes || ' ' || (updated_at > now() - interval '1 day') FROM h_visits WHERE id = 1") ==
      "b true");
}

TEST_CASE("an insert's write scope holds for the row as stored, after column defaults",
          "[e2e][mutations][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_tables(dsn);
  server_process server(dsn, sections(db.name()));
  const auto port = server.public_port();

  // approved_by defaults to 'boss': the client's values are inside "approved_by IS NULL",
  // the stored row would not be.
  auto r = push_as(
      port,
      batch("dev-1",
            {
                mutation(1, "h_notes", "insert", {}, {{"id", 1}, {"owner", "u1"}, {"body", "x"}}),
                mutation(2, "h_notes", "insert", {},
                         {{"id", 2}, {"owner", "u1"}, {"approved_by", nullptr}, {"body", "y"}}),
            }));
  REQUIRE(r.status == 200);
  CHECK(outcome(r, 0) == "forbidden");
  CHECK(outcome(r, 1) == "applied");
  CHECK(query_value(dsn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM h_notes") == "2");
}

TEST_CASE("a subject keeps a bounded number of client ids, and unused ones are forgotten",
          "[e2e][mutations][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_tables(dsn);
  server_process server(dsn, sections(db.name(), "max_clients_per_subject = 2\n"));
  const auto port = server.public_port();
  auto one = [&](const std::string& client, std::int64_t id, int month,
                 const std::string& subject = "u1") {
    return push_as(
        port,
        batch(client, {mutation(id, "h_kpis", "insert", {}, {{"rep", "r1"}, {"month", month}})}),
        subject);
  };
  CHECK(outcome(one("a", 1, 1), 0) == "applied");
  CHECK(outcome(one("b", 1, 2), 0) == "applied");
  CHECK(outcome(one("b", 2, 3), 0) == "applied");
  // A third id of u1: its least recently used one (a) is forgotten with its results.
  CHECK(outcome(one("c", 1, 4), 0) == "applied");
  CHECK(query_value(
            dsn,
            "SELECT string_agg(client_id, ',' ORDER BY client_id) FROM fieldsync.mutation_clients "
            "WHERE owner = 'u1'") == "b,c");
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.mutation_results WHERE client_id = 'a'") ==
        "0");
  // A forgotten client starts again at id 1, as a new one.
  auto again = one("a", 2, 5);
  CHECK(again.status == 409);
  CHECK(again.json().at("error").at("expected_mutation_id") == 1);

  // Retention: an id unused longer than mutations.client_retention_ms (30 days by default)
  // is forgotten; here when another client is made.
  exec_sql(
      dsn,
      "UPDATE fieldsync.mutation_clients SET updated_at = now() - interval '31 days' WHERE client_id = 'b'");
  CHECK(outcome(one("d", 1, 6, "u2"), 0) == "applied");
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.mutation_clients WHERE client_id = 'b'") ==
        "0");
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.mutation_results WHERE client_id = 'b'") ==
        "0");
}
