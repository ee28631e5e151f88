// The published @electric-sql/client (installed from npm by the ctest fixture
// electric_npm_ci, pinned by tests/electric/package-lock.json) syncing from the real
// binary's /v1/shape under Node: sync_test.mjs holds the checks; this starts PostgreSQL's
// database, the table and fieldsync, and hands the script what it needs.

#include "tests/support/child_process.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/pull_fixture.hpp"
#include "tests/support/server_process.hpp"

#include <boost/json/array.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync::test;
using namespace std::chrono_literals;

TEST_CASE("the published @electric-sql/client syncs from /v1/shape", "[e2e][electric]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  exec_sql(dsn,
           "INSERT INTO pull_accounts (id, territory_id, stage, amount) "
           "SELECT g, 1 + g % 3, CASE WHEN g % 4 = 0 THEN 'won' ELSE 'lead' END, g * 10 "
           "FROM generate_series(1, 300) g");
  server_process server(dsn, pull_sections(db.name(),
                                           "long_poll_timeout_ms = 3000\n"
                                           "shape_chunk_rows = 70"));
  wait_for_pull_log(dsn);
  auto token = sign_token({{"territories", boost::json::array{1, 2}}});
  child_process node({FIELDSYNC_NODE, std::string(FIELDSYNC_ELECTRIC_DIR) + "/sync_test.mjs"},
                     {{"FIELDSYNC_URL", "http://127.0.0.1:" + std::to_string(server.public_port())},
                      {"FIELDSYNC_TOKEN", token},
                      {"FIELDSYNC_DSN", dsn},
                      {"FIELDSYNC_SLOT", "fs_" + db.name()}});
  auto code = node.wait_exit(240s);
  INFO("node:\n" << node.transcript());
  INFO("fieldsync:\n" << server.process().transcript());
  REQUIRE(code == 0);
  CHECK(server.terminate() == 0);
}
