// The graceful drain of one node (docs/operations.md, "Draining a node"): on SIGTERM its
// /readyz fails at once while it keeps serving, its ingest moves to another node, and
// after server.drain_delay_ms its WebSockets close with 1012 once the pushes they carry
// are answered; then it exits 0.

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/lb_cluster.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <csignal>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

bool leads(const server_process& s) {
  auto r = http_call(s.admin_port(), http::verb::get, "/admin/v1/status", {},
                     {{"Authorization", std::string("Bearer ") + test_admin_token}});
  const auto body = r.json();
  const auto& ingest = body.at("replication").at("ingest");
  return ingest.is_object() && ingest.at("leader") == true;
}

std::string set_title(int push_id, int row, const std::string& title) {
  return json::serialize(json::object{{"type", "push"},
                                      {"id", push_id},
                                      {"mutations",
                                       {{{"mutation_id", push_id},
                                         {"collection", "m_items"},
                                         {"op", "update"},
                                         {"key", {{"id", row}}},
                                         {"set", {{"title", title}}}}}}});
}

// The next answer to a push, skipping subscription traffic; nullopt when the session closed.
std::optional<json::object> next_answer(sync_client& c) {
  for (;;) {
    auto m = c.next(30s);
    if (!m) return std::nullopt;
    if (m->at("type") == "push_result" || m->at("type") == "error") return m;
  }
}

}  // namespace

TEST_CASE(
    "SIGTERM drains a node: /readyz fails first, the ingest moves, pushes are answered, then 1012",
    "[e2e][drain]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 5);
  const auto sections = mutation_sections(db.name(), "lock_timeout_ms = 60000\n");
  server_process draining(dsn, sections, {{"FIELDSYNC_SERVER_DRAIN_DELAY_MS", "8000"}});
  wait_for_log_rows(dsn, 5);
  wait_until([&] { return leads(draining); }, 30s, "the first node to lead");
  server_process other(dsn, sections);
  CHECK_FALSE(leads(other));

  sync_client c(draining.public_port(), hs256_token({{"sub", "u1"}}), "drain-client");
  c.seq_column = "";
  c.subscribe("items", "m_items");
  REQUIRE(c.run_until([&] { return c.view("items").up_to_date; }));

  draining.process().signal(SIGTERM);
  // Not ready from the signal on, alive all along.
  wait_until(
      [&] { return http_call(draining.admin_port(), http::verb::get, "/readyz").status == 503; },
      10s, "/readyz to fail");
  auto ready = http_call(draining.admin_port(), http::verb::get, "/readyz");
  CHECK(ready.json().at("error").at("code") == "draining");
  CHECK(http_call(draining.admin_port(), http::verb::get, "/healthz").status == 200);
  // The ingest lock was released: the other node leads while this one still serves.
  wait_until([&] { return leads(other); }, 20s, "the other node to take the ingest");

  // Still serving during the drain delay: a change written now reaches the open session,
  // ingested by the other node. And a push is applied and answered.
  exec_sql(dsn, "UPDATE m_items SET title = 'during the drain' WHERE id = 2");
  REQUIRE(c.run_until(
      [&] {
        auto& rows = c.view("items").rows;
        return rows.contains("2") && rows.at("2").at("title") == "during the drain";
      },
      20s));
  c.raw().send(set_title(1, 3, "pushed during the drain"));
  auto first = next_answer(c);
  REQUIRE(first);
  CHECK(first->at("type") == "push_result");
  CHECK(first->at("results").as_array().at(0).at("status") == "applied");

  // A push held by a row lock when the connections close is answered before the close.
  auto blocker = pg_connect(dsn);
  pg_exec(blocker.get(), "BEGIN; SELECT * FROM m_items WHERE id = 4 FOR UPDATE");
  c.raw().send(set_title(2, 4, "in flight at the close"));
  // The close has begun once the public listener stops accepting.
  wait_until([&] { return !loopback_accepts(draining.public_port()); }, 30s,
             "the listener to close");
  std::this_thread::sleep_for(500ms);
  CHECK_FALSE(c.closed());
  pg_exec(blocker.get(), "COMMIT");
  auto second = next_answer(c);
  REQUIRE(second);
  CHECK(second->at("type") == "push_result");
  CHECK(second->at("results").as_array().at(0).at("status") == "applied");
  CHECK(query_value(dsn, "SELECT title FROM m_items WHERE id = 4") == "in flight at the close");

  // Then the close, with the code that says "reconnect elsewhere", and a clean exit.
  while (c.next(30s)) {
  }
  CHECK(c.closed());
  CHECK(c.raw().close_code() == 1012);
  REQUIRE(draining.process().wait_exit(30s) == 0);

  // The client resumes on the other node from its cursor and sees what it missed.
  exec_sql(dsn, "UPDATE m_items SET title = 'after the move' WHERE id = 5");
  REQUIRE(c.reconnect_to(other.public_port()));
  REQUIRE(c.run_until(
      [&] {
        auto& rows = c.view("items").rows;
        return rows.contains("5") && rows.at("5").at("title") == "after the move";
      },
      30s));
  CHECK(c.errors().empty());
  CHECK(c.protocol_errors().empty());
  CHECK(other.terminate() == 0);
}
