// Client writes through the real binary: results of every kind, exactly-once under retries,
// batch-level refusals, the checks that reject single mutations, the conflict log, origins in
// the change log, and kill -9 between a batch's commit and its answer.

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <csignal>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

json::object update(std::int64_t id, int row, json::object set, json::object base = {}) {
  return json::object{{"mutation_id", id}, {"collection", "m_items"}, {"op", "update"},
                      {"key", {{"id", row}}}, {"set", std::move(set)}, {"base", std::move(base)}};
}

json::value batch(const std::string& client, json::array mutations) {
  return json::object{{"client_id", client}, {"mutations", std::move(mutations)}};
}

json::array results(const http_reply& r) { return r.json().as_object().at("results").as_array(); }

// The log's answer to `sql` once it holds what a push's version names: the version can
// reach the client a moment before the log stores its transaction (docs/mutations.md,
// "Versions").
std::string once_logged(const std::string& dsn, const std::string& sql) {
  std::string v;
  wait_until(
      [&] {
        v = query_value(dsn, sql);
        return !v.empty();
      },
      10s, sql);
  return v;
}

std::string status_of(const http_reply& r, std::size_t i) {
  auto all = results(r);
  return std::string(all.at(i).as_object().at("status").as_string());
}

std::string code_of(const http_reply& r, std::size_t i) {
  auto all = results(r);
  const auto& o = all.at(i).as_object();
  if (o.at("status") != "rejected") return "(" + std::string(o.at("status").as_string()) + ")";
  return std::string(o.at("code").as_string());
}

}  // namespace

TEST_CASE("mutations are applied, merged, rejected or duplicate, once", "[e2e][mutations]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 5);
  server_process server(dsn, mutation_sections(db.name()));
  const auto port = server.public_port();
  wait_for_log_rows(dsn, 5);

  // Applied: the row had not changed since the client's base.
  auto first = push(port, "u1", batch("dev-1", {update(1, 1, {{"hits", 3}}, {{"hits", 0}}),
                                                update(2, 2, {{"title", "mine"}}, {{"title", "title 2"}}),
                                                json::object{{"mutation_id", 3}, {"collection", "m_items"},
                                                             {"op", "insert"}, {"key", {{"id", 100}}},
                                                             {"set", {{"owner", "u1"}, {"title", "new"}}}}}));
  REQUIRE(first.status == 200);
  REQUIRE(results(first).size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(status_of(first, i) == "applied");
    CHECK(results(first)[i].as_object().at("version").is_string());  // the log named it
  }
  CHECK(first.json().at("last_mutation_id") == 3);
  CHECK(query_value(dsn, "SELECT hits FROM m_items WHERE id = 1") == "3");
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 100") == "new");

  // The log knows which mutation made which version.
  auto version1 = std::string(results(first)[0].as_object().at("version").as_string());
  CHECK(once_logged(dsn,
                    "SELECT string_agg(mutation_id::text, ',' ORDER BY idx) FROM fieldsync.changes "
                    "WHERE client_id = 'dev-1' AND lsn = '" +
                        version1 + "'") == "1,2,3");

  // Two writes of one row in one batch: each of its changes names its own mutation, in order.
  auto twice =
      push(port, "u1",
           batch("dev-origins", {update(1, 5, {{"title", "once"}}, {{"title", "title 5"}}),
                                 update(2, 4, {{"title", "other"}}, {{"title", "title 4"}}),
                                 update(3, 5, {{"title", "twice"}}, {{"title", "once"}})}));
  REQUIRE(twice.status == 200);
  const auto version2 = std::string(results(twice)[0].as_object().at("version").as_string());
  CHECK(
      once_logged(
          dsn,
          "SELECT string_agg(key || ':' || mutation_id::text, ',' ORDER BY idx) FROM fieldsync.changes "
          "WHERE client_id = 'dev-origins' AND lsn = '" +
              version2 + "'") == "5:1,4:2,5:3");

  // An integration changes the rows meanwhile; the next edits merge with it.
  exec_sql(dsn, "UPDATE m_items SET hits = hits + 10, note = 'by the ETL', tags = '{kol}' WHERE id IN (1, 2)");
  auto second = push(port, "u1",
                     batch("dev-1", {update(4, 1, {{"hits", 5}}, {{"hits", 3}}),                // counter
                                     update(5, 2, {{"note", "by the rep"}}, {{"note", nullptr}}),  // reject
                                     update(6, 2, {{"tags", {"digital"}}}, {{"tags", json::array()}})}));
  REQUIRE(second.status == 200);
  CHECK(status_of(second, 0) == "merged");
  CHECK(results(second)[0].as_object().at("row").at("hits") == 15);
  CHECK(results(second)[0].as_object().at("conflicts").as_array().at(0).at("strategy") == "counter");
  CHECK(code_of(second, 1) == "conflict");
  CHECK(results(second)[1].as_object().at("row").at("note") == "by the ETL");
  CHECK(results(second)[1].as_object().at("fields") == json::array{"note"});
  CHECK(status_of(second, 2) == "merged");
  CHECK(results(second)[2].as_object().at("row").at("tags") == json::array{"kol", "digital"});
  CHECK(query_value(dsn, "SELECT hits FROM m_items WHERE id = 1") == "15");
  CHECK(query_value(dsn, "SELECT note FROM m_items WHERE id = 2") == "by the ETL");

  // A retry returns the original results and changes nothing.
  auto retry = push(port, "u1", batch("dev-1", {update(4, 1, {{"hits", 5}}, {{"hits", 3}}),
                                                update(5, 2, {{"note", "by the rep"}}, {{"note", nullptr}}),
                                                update(6, 2, {{"tags", {"digital"}}}, {{"tags", json::array()}}),
                                                update(7, 3, {{"title", "later"}}, {{"title", "title 3"}})}));
  REQUIRE(retry.status == 200);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(status_of(retry, i) == "duplicate");
    // A rejection is kept without the row and conflicts it showed (bounded storage).
    auto expected = results(second)[i].as_object();
    if (expected.at("status") == "rejected") {
      expected.erase("row");
      expected.erase("conflicts");
    }
    CHECK(results(retry)[i].as_object().at("original") == expected);
  }
  CHECK(status_of(retry, 3) == "applied");
  CHECK(query_value(dsn, "SELECT hits FROM m_items WHERE id = 1") == "15");
  CHECK(query_value(dsn, "SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = 'dev-1'") == "7");

  // The conflicts are recorded for review.
  auto conflicts = http_call(server.admin_port(), http::verb::get, "/admin/v1/conflicts?collection=m_items", {},
                             {{"Authorization", std::string("Bearer ") + test_admin_token}});
  REQUIRE(conflicts.status == 200);
  auto list = conflicts.json().at("conflicts").as_array();
  REQUIRE(list.size() == 3);
  CHECK(list[0].at("mutation_id") == 6);
  CHECK(list[1].at("outcome") == "rejected");
  CHECK(list[1].at("reason") == "conflict");
  CHECK(list[2].at("outcome") == "merged");
  CHECK(http_call(server.admin_port(), http::verb::get, "/admin/v1/conflicts").status == 401);
  CHECK(server.terminate() == 0);
}

TEST_CASE(
    "a column's type changed under the prepared statements: the next batches apply all the same",
    "[e2e][mutations]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 5);
  server_process server(dsn, mutation_sections(db.name()));
  const auto port = server.public_port();
  wait_for_log_rows(dsn, 5);
  std::int64_t id = 0;
  auto push_title = [&] {
    ++id;
    auto r = push(port, "u1",
                  batch("dev-alter", {update(id, 1, {{"title", "t" + std::to_string(id)}})}));
    REQUIRE(r.status == 200);
    INFO(r.body);
    CHECK(status_of(r, 0) == "applied");
  };
  // Batches of one shape, enough for the pooled sessions to prepare their statements.
  for (int i = 0; i < 12; ++i) push_title();
  // The prepared reads of the rows now return another row type: each session's next use
  // fails with 0A000 once, and the batch runs again (docs/operations.md).
  exec_sql(dsn, "ALTER TABLE m_items ALTER COLUMN title TYPE varchar(200)");
  for (int i = 0; i < 12; ++i) push_title();
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 1") == "t24");
}

TEST_CASE("batches are refused whole: gaps, foreign clients, no token, bad JSON", "[e2e][mutations]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  server_process server(dsn, mutation_sections(db.name()));
  const auto port = server.public_port();

  auto gap = push(port, "u1", batch("dev-2", {update(2, 1, {{"title", "x"}})}));
  CHECK(gap.status == 409);
  CHECK(gap.json().at("error").at("code") == "mutation_gap");
  CHECK(gap.json().at("error").at("expected_mutation_id") == 1);
  REQUIRE(push(port, "u1", batch("dev-2", {update(1, 1, {{"title", "x"}})})).status == 200);
  gap = push(port, "u1", batch("dev-2", {update(3, 1, {{"title", "y"}})}));
  CHECK(gap.json().at("error").at("expected_mutation_id") == 2);
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 1") == "x");

  auto foreign = push(port, "u2", batch("dev-2", {update(2, 1, {{"title", "z"}})}));
  CHECK(foreign.status == 403);
  CHECK(foreign.json().at("error").at("code") == "client_not_yours");

  auto anonymous = http_call(port, http::verb::post, "/v1/mutations", R"({"client_id":"a","mutations":[]})");
  CHECK(anonymous.status == 401);
  auto bad = http_call(port, http::verb::post, "/v1/mutations", "{nope",
                       {{"Authorization", "Bearer " + hs256_token({{"sub", "u1"}})}});
  CHECK(bad.status == 400);
  CHECK(bad.json().at("error").at("code") == "bad_request");
  auto not_consecutive = push(port, "u1", batch("dev-2", {update(2, 1, {{"title", "z"}}), update(4, 1, {})}));
  CHECK(not_consecutive.status == 400);
  CHECK(query_value(dsn, "SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = 'dev-2'") == "1");
  CHECK(server.terminate() == 0);
}

TEST_CASE("each invalid mutation is rejected with its code, nothing partial is written",
          "[e2e][mutations][validation]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  exec_sql(dsn, "INSERT INTO m_items (id, owner, title) VALUES (50, 'u2', 'not yours')");
  server_process server(dsn, mutation_sections(db.name(), "max_value_bytes = 64\n"));
  const auto port = server.public_port();
  const auto before = query_value(dsn, "SELECT json_agg(m ORDER BY id)::text FROM m_items m");

  json::array ms;
  auto add = [&](json::object m) {
    m["mutation_id"] = static_cast<std::int64_t>(ms.size() + 1);
    ms.push_back(std::move(m));
  };
  auto upd = [](json::value key, json::object set) {
    return json::object{{"collection", "m_items"}, {"op", "update"}, {"key", {{"id", std::move(key)}}},
                        {"set", std::move(set)}};
  };
  add(json::object{{"collection", "nothing"}, {"op", "update"}, {"key", {{"id", 1}}}, {"set", {{"a", 1}}}});
  add(upd(1, {{"colour", "red"}}));
  add(upd(1, {{"hits", "many"}}));
  add(upd(1, {{"owner", nullptr}}));
  add(upd(1, {{"title", std::string(65, 'x')}}));
  add(json::object{{"collection", "m_items"}, {"op", "update"}, {"set", {{"title", "x"}}}});
  add(upd(1, {{"id", 2}}));
  add(upd(50, {{"title", "mine now"}}));  // outside the write scope before
  add(upd(1, {{"owner", "u2"}}));         // outside it after
  add(upd(1, {{"hits", -5}}));            // CHECK (hits >= 0): the database refuses it
  add(json::object{{"collection", "m_items"}, {"op", "merge"}, {"key", {{"id", 1}}}});
  add(json::object{{"collection", "m_items"}, {"op", "insert"}, {"key", {{"id", 60}}}, {"set", {{"title", "x"}}}});
  auto withclock = upd(1, {{"title", "x"}});
  withclock["client_ts"] = "yesterday";
  add(std::move(withclock));
  auto other_node = upd(1, {{"title", "x"}});
  other_node["client_ts"] = "2026-11-25T11:04:51.123Z-0000-someone-else";
  add(std::move(other_node));
  auto future = upd(1, {{"title", "x"}});
  future["client_ts"] = "2999-01-01T00:00:00.000Z-0000-dev-3";
  add(std::move(future));
  add(upd(2, {{"title", "fine"}}));  // the one valid mutation, after all the others

  auto r = push(port, "u1", batch("dev-3", ms));
  REQUIRE(r.status == 200);
  std::vector<std::string> expected = {"unknown_collection", "unknown_column", "wrong_type", "not_null",
                                       "too_large", "missing_key", "key_immutable", "forbidden", "forbidden",
                                       "constraint_violation", "bad_mutation", "not_null", "bad_clock",
                                       "bad_clock", "clock_drift", "(applied)"};
  REQUIRE(results(r).size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("mutation " << i + 1 << ": " << json::serialize(results(r)[i]));
    CHECK(code_of(r, i) == expected[i]);
  }
  // The row outside the caller's scope is not shown to it.
  CHECK(results(r)[7].as_object().if_contains("row") == nullptr);
  CHECK(query_value(dsn, "SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = 'dev-3'") ==
        std::to_string(expected.size()));
  exec_sql(dsn, "UPDATE m_items SET title = 'title 2' WHERE id = 2");
  CHECK(query_value(dsn, "SELECT json_agg(m ORDER BY id)::text FROM m_items m") == before);
  CHECK(server.terminate() == 0);
}

TEST_CASE("kill -9 between a batch's commit and its answer: the retry gets the original results",
          "[e2e][mutations][fault]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  const auto sections = mutation_sections(db.name());
  auto the_batch = batch("dev-4", {update(1, 1, {{"hits", 2}}, {{"hits", 0}}),
                                   update(2, 2, {{"tags", {"a"}}}, {{"tags", json::array()}}),
                                   update(3, 3, {{"note", "x"}}, {{"note", nullptr}})});
  {
    server_process doomed(dsn, sections, {{"FIELDSYNC_FAULT", "kill-after-mutation-commit"}});
    wait_for_log_rows(dsn, 3);
    CHECK_THROWS(push(doomed.public_port(), "u1", the_batch));  // no answer: the process died
    REQUIRE(doomed.process().wait_exit(10s) == 128 + SIGKILL);
  }
  // Committed before the kill.
  CHECK(query_value(dsn, "SELECT hits FROM m_items WHERE id = 1") == "2");
  CHECK(query_value(dsn, "SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = 'dev-4'") == "3");

  server_process server(dsn, sections);
  auto retry = push(server.public_port(), "u1", the_batch);
  REQUIRE(retry.status == 200);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(status_of(retry, i) == "duplicate");
    auto original = results(retry)[i].as_object().at("original").as_object();
    CHECK(original.at("status") == "applied");
    CHECK(original.at("mutation_id") == static_cast<std::int64_t>(i + 1));
  }
  CHECK(query_value(dsn, "SELECT hits FROM m_items WHERE id = 1") == "2");
  CHECK(query_value(dsn, "SELECT array_to_string(tags, ',') FROM m_items WHERE id = 2") == "a");
  // Each mutation made exactly one change in the log.
  wait_until([&] { return log_value(dsn, "SELECT count(*) FROM fieldsync.changes WHERE client_id = 'dev-4'") == "3"; },
             60s, "the batch's changes in the log");
  CHECK(query_value(dsn, "SELECT count(DISTINCT mutation_id) FROM fieldsync.changes WHERE client_id = 'dev-4'") == "3");
  CHECK(server.terminate() == 0);
}

TEST_CASE("stored results are bounded: older duplicates are answered without them", "[e2e][mutations]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  server_process server(dsn, mutation_sections(db.name(), "result_retention = 10\n"));
  const auto port = server.public_port();
  auto five = [](std::int64_t first) {
    json::array ms;
    for (std::int64_t id = first; id < first + 5; ++id) ms.push_back(update(id, 1, {{"title", "t" + std::to_string(id)}}));
    return batch("dev-5", std::move(ms));
  };
  for (std::int64_t first : {1, 6, 11}) REQUIRE(push(port, "u1", five(first)).status == 200);
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.mutation_results WHERE client_id = 'dev-5'") == "2");
  auto old = push(port, "u1", five(1));
  REQUIRE(old.status == 200);
  CHECK(status_of(old, 0) == "duplicate");
  CHECK(results(old)[0].as_object().at("original").is_null());
  auto kept = push(port, "u1", five(11));
  CHECK(results(kept)[4].as_object().at("original").at("status") == "applied");
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 1") == "t15");
  CHECK(server.terminate() == 0);
}

TEST_CASE("origins match writes whose keys PostgreSQL spells differently from the client",
          "[e2e][mutations]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 1);
  // A composite key of types whose text the client may spell otherwise: an offset
  // timestamptz, a numeric with trailing zeros, an upper-case uuid, non-ASCII text.
  exec_sql(dsn,
           "CREATE TABLE m_keys (at timestamptz, amount numeric(12,2), id uuid, label text, "
           "owner text NOT NULL, v int, PRIMARY KEY (at, amount, id, label))");
  server_process server(dsn, mutation_sections(db.name()) +
                                 "[collections.m_keys]\n"
                                 "primary_key = [\"at\", \"amount\", \"id\", \"label\"]\n"
                                 "read_scope = \"owner = $claims.sub\"\n"
                                 "write_scope = \"owner = $claims.sub\"\n");
  const auto port = server.public_port();
  wait_for_log_rows(dsn, 1);
  const json::object key{{"at", "2026-03-01T02:30:00+02:00"},
                         {"amount", "1.50"},
                         {"id", "6F1C2B3A-0000-4000-8000-00000000ABCD"},
                         {"label", "Zürich ✓"}};
  auto mutation = [&](std::int64_t id, std::string_view op, json::object set) {
    return json::object{{"mutation_id", id},
                        {"collection", "m_keys"},
                        {"op", op},
                        {"key", key},
                        {"set", std::move(set)}};
  };
  auto r = push(port, "u1",
                batch("dev-keys", {mutation(1, "insert", {{"owner", "u1"}, {"v", 1}}),
                                   mutation(2, "update", {{"v", 2}})}));
  REQUIRE(r.status == 200);
  CHECK(status_of(r, 0) == "applied");
  CHECK(status_of(r, 1) == "applied");
  const auto version = std::string(results(r)[0].as_object().at("version").as_string());
  CHECK(
      once_logged(
          dsn,
          "SELECT string_agg(op::text || ':' || coalesce(mutation_id::text, 'none'), ',' ORDER BY idx) "
          "FROM fieldsync.changes WHERE collection = 'm_keys' AND lsn = '" +
              version + "'") == "i:1,u:2");
}
