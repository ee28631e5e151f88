// Client writes over the WebSocket (`push`) through the real binary: results in the order the
// pushes were sent, exactly once across retries, the pushed changes coming back to the
// session's own subscription with their origin, the per-connection queue limit, and the
// refusals (before hello, a batch-level error).

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <set>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

json::object set_title(std::int64_t mutation_id, int row, const std::string& title) {
  return json::object{{"mutation_id", mutation_id}, {"collection", "m_items"}, {"op", "update"},
                      {"key", {{"id", row}}},        {"set", {{"title", title}}}};
}

std::string push_message(int id, json::array mutations, const std::string& client_id = "") {
  json::object m{{"type", "push"}, {"id", id}, {"mutations", std::move(mutations)}};
  if (!client_id.empty()) m["client_id"] = client_id;
  return json::serialize(m);
}

// The next message answering a push (push_result or error), skipping subscription traffic.
json::object next_answer(sync_client& c) {
  for (;;) {
    auto m = c.next(30s);
    REQUIRE(m);
    const auto& type = m->at("type").as_string();
    if (type == "push_result" || (type == "error" && m->contains("id") &&
                                  m->at("id").is_int64() && m->at("id").as_int64() >= 100)) {
      return *m;
    }
    if (type == "error") {
      // Errors about subscriptions would be a failure of the set-up.
      FAIL("unexpected error: " << json::serialize(*m));
    }
  }
}

std::string status_at(const json::object& result, std::size_t i) {
  return std::string(result.at("results").as_array().at(i).at("status").as_string());
}

}  // namespace

TEST_CASE("pushes over the WebSocket are applied in order, once, and come back with their origin",
          "[e2e][mutations][sync]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 10);
  server_process server(dsn, mutation_sections(db.name()));
  const auto port = server.public_port();
  wait_for_log_rows(dsn, 10);

  sync_client c(port, hs256_token({{"sub", "u1"}}), "tablet-1");
  c.seq_column = "";
  c.subscribe("items", "m_items");
  REQUIRE(c.run_until([&] { return c.view("items").up_to_date; }));
  CHECK(c.view("items").rows.size() == 10);

  // Three batches sent back to back, the client id taken from hello: answered in order.
  c.raw().send(push_message(100, {set_title(1, 1, "a"), set_title(2, 2, "b")}));
  c.raw().send(push_message(101, {set_title(3, 3, "c")}));
  c.raw().send(push_message(102, {set_title(4, 1, "d"), set_title(5, 4, "e")}));
  for (int id = 100; id <= 102; ++id) {
    auto answer = next_answer(c);
    INFO(json::serialize(answer));
    REQUIRE(answer.at("type") == "push_result");
    CHECK(answer.at("id") == id);
    CHECK(answer.at("client_id") == "tablet-1");
    for (std::size_t i = 0; i < answer.at("results").as_array().size(); ++i)
      CHECK(status_at(answer, i) == "applied");
  }
  CHECK(query_value(dsn, "SELECT last_mutation_id FROM fieldsync.mutation_clients "
                         "WHERE client_id = 'tablet-1'") == "5");
  CHECK(query_value(dsn, "SELECT string_agg(title, ',' ORDER BY id) FROM m_items WHERE id <= 4") ==
        "d,b,c,e");

  // The session's own subscription gets its writes, each with the mutation that made it.
  REQUIRE(c.run_until([&] { return c.view("items").changes >= 5; }, 30s));
  CHECK(c.view("items").rows.at("1").at("title") == "d");
  CHECK(c.view("items").rows.at("4").at("title") == "e");
  CHECK(c.view("items").origins.at("1").at("client_id") == "tablet-1");
  CHECK(c.view("items").origins.at("1").at("mutation_id") == 4);
  CHECK(c.view("items").origins.at("3").at("mutation_id") == 3);
  CHECK(c.errors().empty());

  // A retry of the first batch is answered with the original results and changes nothing.
  c.raw().send(push_message(103, {set_title(1, 1, "a"), set_title(2, 2, "b")}));
  auto retry = next_answer(c);
  REQUIRE(retry.at("type") == "push_result");
  CHECK(status_at(retry, 0) == "duplicate");
  CHECK(status_at(retry, 1) == "duplicate");
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 1") == "d");

  // A batch that leaves a gap is refused whole, with the id to continue from.
  c.raw().send(push_message(104, {set_title(9, 5, "gap")}));
  auto gap = next_answer(c);
  INFO(json::serialize(gap));
  CHECK(gap.at("type") == "error");
  CHECK(gap.at("id") == 104);
  CHECK(gap.at("code") == "mutation_gap");
  CHECK(gap.at("expected_mutation_id") == 6);
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 5") == "title 5");

  // The origin is in the log, as for HTTP pushes.
  CHECK(query_value(dsn, "SELECT string_agg(DISTINCT client_id, ',') FROM fieldsync.changes "
                         "WHERE collection = 'm_items' AND client_id IS NOT NULL") == "tablet-1");
  CHECK(server.terminate() == 0);
}

TEST_CASE("a push before hello is refused, and a connection's waiting pushes are bounded",
          "[e2e][mutations][sync]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 10);
  server_process server(dsn, mutation_sections(db.name(), "max_queued_pushes = 1\n"));
  const auto port = server.public_port();
  wait_for_log_rows(dsn, 10);

  {
    ws_client anonymous(port);
    anonymous.send(push_message(100, {set_title(1, 1, "x")}, "dev-x"));
    auto answer = anonymous.receive();
    REQUIRE(answer);
    auto m = json::parse(*answer).as_object();
    CHECK(m.at("code") == "unauthenticated");
    CHECK(m.at("id") == 100);
    CHECK(query_value(dsn, "SELECT count(*) FROM m_items WHERE title = 'x'") == "0");
  }

  // Eight pushes at once, each of its own client id (so none depends on another): with one
  // allowed to wait, some are refused. Every push gets exactly one answer, and exactly the
  // answered-as-applied ones are in the database.
  sync_client c(port, hs256_token({{"sub", "u1"}}), "tablet-2");
  constexpr int pushes = 8;
  for (int i = 0; i < pushes; ++i) {
    c.raw().send(push_message(100 + i, {set_title(1, i + 1, "q" + std::to_string(i))},
                              "dev-" + std::to_string(i)));
  }
  std::set<std::int64_t> applied, refused;
  for (int i = 0; i < pushes; ++i) {
    auto answer = next_answer(c);
    INFO(json::serialize(answer));
    const auto id = answer.at("id").as_int64();
    if (answer.at("type") == "push_result") {
      CHECK(status_at(answer, 0) == "applied");
      applied.insert(id);
    } else {
      CHECK(answer.at("code") == "too_many_pushes");
      refused.insert(id);
    }
  }
  CHECK(applied.size() + refused.size() == pushes);
  CHECK(!refused.empty());
  CHECK(applied.contains(100));  // the first is applied at once, never refused
  for (int i = 0; i < pushes; ++i) {
    const bool was_applied = applied.contains(100 + i);
    CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = " + std::to_string(i + 1)) ==
          (was_applied ? "q" + std::to_string(i) : "title " + std::to_string(i + 1)));
    CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.mutation_clients WHERE client_id = 'dev-" +
                               std::to_string(i) + "'") == (was_applied ? "1" : "0"));
  }
  CHECK(server.terminate() == 0);
}
