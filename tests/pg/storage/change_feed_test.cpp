// The change feed against real PostgreSQL: concurrent writers, a transaction over the
// memory limit, PostgreSQL restarts and a killed walsender, a lost slot, idle WAL, a
// collection added while a transaction runs. The truth is the audit of
// tests/support/feed_workload: each committed transaction exactly once, in order.

#include "tests/support/feed_workload.hpp"
#include "tests/support/ingest_harness.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/private_cluster.hpp"

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;

namespace {

std::string slot_for(const fresh_database& db) { return "fs_" + db.name(); }

// Polls `done` until it holds or `timeout` passes (then fails the test with `what`).
template <typename F>
void wait_until(F done, std::chrono::seconds timeout, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting: " << what);
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace

TEST_CASE("100k changes from concurrent writers reach the log exactly once, in order",
          "[pg][feed]") {
  fresh_database db;
  create_feed_schema(db.conninfo());
  ingest_harness ingest(db.conninfo(), slot_for(db), feed_collections(),
                        [](auto& o) { o.max_transaction_bytes = 1 << 20; });
  ingest.wait_until_streaming();
  workload_options w;
  w.changes = 100'000;
  w.big_transaction_rows = 6'000;  // ~5 MB of changes: five times the memory limit
  w.noise = true;
  auto report = run_feed_workload(db.conninfo(), w);
  wait_for_log(db.conninfo());
  CHECK(check_feed(db.conninfo()) > 10'000);
  CHECK(report.failed_transactions == 0);
  // Some statements find nothing to change (a pair already deleted): most do.
  CHECK(std::stoll(query_value(db.conninfo(), "SELECT count(*) FROM fieldsync.changes")) >= 80'000);
  auto status = ingest.status();
  CHECK(status.leader);
  CHECK(status.restarts == 0);
  CHECK(status.last_error.empty());
}

TEST_CASE("PostgreSQL restarts and a terminated walsender under load lose and double nothing",
          "[pg][feed][fault]") {
  private_cluster pg;
  const auto dsn = pg.conninfo();
  create_feed_schema(dsn);
  ingest_harness ingest(dsn, "fs_fault", feed_collections());
  ingest.wait_until_streaming();
  std::atomic<bool> stop{false};
  workload_options w;
  w.changes = 10'000'000;  // until stopped: every fault lands under load
  w.writers = 3;
  workload_report report;
  std::thread writers([&] { report = run_feed_workload(dsn, w, &stop); });

  auto wait_for_progress = [&] {
    auto before = ingest.status().changes;
    wait_until([&] { return ingest.status().changes > before + 500; }, 60s, "ingest progress");
  };
  wait_for_progress();
  pg.cluster().restart("fast");
  wait_for_progress();
  pg.cluster().restart("immediate");
  wait_for_progress();
  exec_sql(dsn, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                "WHERE slot_name = 'fs_fault' AND active_pid IS NOT NULL");
  wait_for_progress();
  stop = true;
  writers.join();
  wait_for_log(dsn);
  check_feed(dsn);
  CHECK(ingest.status().restarts >= 3);
}

TEST_CASE("a lost slot is detected: new epoch, the collections copied again, no silent "
          "continuation",
          "[pg][feed][fault]") {
  private_cluster pg({"max_slot_wal_keep_size = 1MB", "min_wal_size = 32MB", "max_wal_size = 64MB"});
  const auto dsn = pg.conninfo();
  create_feed_schema(dsn);
  std::int64_t first_epoch = 0;
  {
    ingest_harness ingest(dsn, "fs_lost", feed_collections());
    ingest.wait_until_streaming();
    workload_options w;
    w.changes = 3'000;
    run_feed_workload(dsn, w);
    wait_for_log(dsn);
    first_epoch = ingest.status().epoch;
    ingest.stop();
  }
  // While fieldsync is away, synced tables change and WAL piles past the slot's limit.
  exec_sql(dsn, "UPDATE t_items SET val = 'while away' WHERE id % 3 = 0; "
                "INSERT INTO t_pairs (a, b, v) VALUES (999999, 'away', 1)");
  for (int i = 0; i < 6; ++i) {
    exec_sql(dsn, "INSERT INTO t_noise (payload) SELECT repeat('x', 1000) FROM generate_series(1, 20000)");
    exec_sql(dsn, "SELECT pg_switch_wal()");
  }
  exec_sql(dsn, "CHECKPOINT");
  REQUIRE(query_value(dsn, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'fs_lost'") == "lost");

  ingest_harness ingest(dsn, "fs_lost", feed_collections());
  wait_until([&] { return ingest.status().phase == "streaming"; }, 60s, "streaming again");
  auto status = ingest.status();
  CHECK(status.epochs_started == 1);
  CHECK(status.epoch > first_epoch);
  CHECK(query_value(dsn, "SELECT epoch FROM fieldsync.state") == std::to_string(status.epoch));
  // The log starts over: nothing of the old epoch, the copy holds what changed meanwhile.
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.changes") == "0");
  CHECK(query_value(dsn, "SELECT \"row\"->>'val' FROM fieldsync.rows WHERE collection = 'items' "
                         "AND key = (SELECT min(id)::text FROM t_items WHERE id % 3 = 0)") == "while away");
  CHECK(query_value(dsn, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'fs_lost'") != "lost");
  // And it streams from there.
  workload_options w;
  w.changes = 2'000;
  w.seed = 2;
  run_feed_workload(dsn, w);
  wait_for_log(dsn);
  CHECK(query_value(dsn, "SELECT count(*) FROM (SELECT 'items' c, id::text k FROM t_items "
                         "EXCEPT SELECT collection, key FROM fieldsync.rows WHERE NOT deleted) x") == "0");
}

TEST_CASE("writes to unsynced tables only: the slot keeps advancing, its WAL stays bounded",
          "[pg][feed]") {
  fresh_database db;
  create_feed_schema(db.conninfo());
  ingest_harness ingest(db.conninfo(), slot_for(db), feed_collections(),
                        [](auto& o) { o.heartbeat_interval = std::chrono::milliseconds(100); });
  wait_until([&] { return ingest.status().phase == "streaming"; }, 60s, "streaming");
  const std::string slot = slot_for(db);
  auto confirmed = [&] {
    return query_value(db.conninfo(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                                      "WHERE slot_name = '" + slot + "'");
  };
  const auto start_lsn = query_value(db.conninfo(), "SELECT pg_current_wal_lsn()::text");
  for (int i = 0; i < 5; ++i) {
    exec_sql(db.conninfo(), "INSERT INTO t_noise (payload) SELECT repeat('x', 1000) FROM generate_series(1, 20000)");
  }
  const auto end_lsn = query_value(db.conninfo(), "SELECT pg_current_wal_lsn()::text");
  CHECK(std::stoll(query_value(db.conninfo(), "SELECT pg_wal_lsn_diff('" + end_lsn + "', '" + start_lsn + "')")) >
        50'000'000);
  // Heartbeats carry the confirmed position past all of it...
  wait_until([&] {
    return query_value(db.conninfo(), "SELECT '" + confirmed() + "'::pg_lsn >= '" + end_lsn + "'::pg_lsn") == "t";
  }, 60s, "the slot's confirmed position to pass the unsynced writes");
  // ...and the next running-transactions record lets the slot release the WAL behind it.
  wait_until([&] {
    exec_sql(db.conninfo(), "CHECKPOINT");
    return std::stoll(query_value(db.conninfo(),
                                  "SELECT pg_wal_lsn_diff('" + end_lsn + "', restart_lsn) FROM "
                                  "pg_replication_slots WHERE slot_name = '" + slot + "'")) < 16'000'000;
  }, 60s, "the slot's restart position to pass the unsynced writes");
}

TEST_CASE("a collection added while a transaction on it runs gets its rows exactly once",
          "[pg][feed]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  auto items_only = feed_collections();
  items_only.pop_back();
  {
    ingest_harness ingest(dsn, slot_for(db), items_only);
    wait_for_log(dsn);
    ingest.stop();
  }
  exec_sql(dsn, "INSERT INTO t_pairs (a, b, v) VALUES (1, 'before', 1)");

  // A transaction open while pairs joins the publication: it may be decoded without the
  // table, so the copy must wait for it and include it.
  auto open_txn = std::unique_ptr<PGconn, decltype(&PQfinish)>(PQconnectdb(dsn.c_str()), &PQfinish);
  REQUIRE(PQstatus(open_txn.get()) == CONNECTION_OK);
  auto exec_open = [&](const char* sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(open_txn.get(), sql), &PQclear);
    REQUIRE(PQresultStatus(r.get()) == PGRES_COMMAND_OK);
  };
  exec_open("BEGIN");
  exec_open("INSERT INTO t_pairs (a, b, v) VALUES (2, 'during', 1)");
  exec_open("UPDATE t_pairs SET v = 2 WHERE a = 1");

  ingest_harness ingest(dsn, slot_for(db), feed_collections());
  wait_until([&] { return ingest.status().phase == "loading"; }, 60s, "the copy of pairs to start");
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.collections WHERE name = 'pairs'") == "0");
  exec_open("COMMIT");
  wait_until([&] {
    return query_value(dsn, "SELECT count(*) FROM fieldsync.collections WHERE name = 'pairs'") == "1";
  }, 60s, "the copy of pairs");
  exec_sql(dsn, "INSERT INTO t_pairs (a, b, v) VALUES (3, 'after', 1)");
  wait_until([&] {
    return query_value(dsn, "SELECT count(*) FROM fieldsync.rows WHERE collection = 'pairs' AND NOT deleted") == "3";
  }, 30s, "three pairs rows in the log");
  CHECK(query_value(dsn, "SELECT \"row\"->>'v' FROM fieldsync.rows WHERE collection = 'pairs' AND key = '[1,\"before\"]'") == "2");
  // What committed before the copy is in the copy, never also in the log's changes.
  CHECK(query_value(dsn, "SELECT string_agg(key || ':' || op::text, ',' ORDER BY lsn, idx) FROM fieldsync.changes "
                         "WHERE collection = 'pairs'") == "[3,\"after\"]:i");
}

TEST_CASE("collections copied while writers write: no row missed, none doubled", "[pg][feed]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  std::atomic<bool> stop{false};
  workload_options w;
  w.changes = 30'000;
  w.writers = 3;
  std::thread writers([&] { run_feed_workload(dsn, w, &stop); });
  wait_until([&] { return std::stoll(query_value(dsn, "SELECT count(*) FROM feed_audit")) > 3000; }, 60s,
             "writers to get going");
  ingest_harness ingest(dsn, slot_for(db), feed_collections());
  writers.join();
  wait_for_log(dsn);
  // Every transaction the log holds is whole and held once; the rows equal the tables.
  CHECK(query_value(dsn, R"sql(
    WITH l AS (SELECT xid, string_agg(collection || ':' || key || ':' || op::text, ',' ORDER BY lsn, idx) s,
                      count(DISTINCT lsn) lsns FROM fieldsync.changes GROUP BY xid),
         a AS (SELECT xid, string_agg(coll || ':' || key || ':' || op::text, ',' ORDER BY seq) s
                 FROM feed_audit GROUP BY xid)
    SELECT count(*) FROM l JOIN a USING (xid) WHERE l.s <> a.s OR l.lsns > 1)sql") == "0");
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.changes c WHERE NOT EXISTS "
                         "(SELECT 1 FROM feed_audit a WHERE a.xid = c.xid)") == "0");
  CHECK(query_value(dsn, R"sql(
    WITH src AS (SELECT 'items' c, id::text k, jsonb_build_object('id', id, 'grp', grp, 'val', val, 'n', n, 'big', big) j
                   FROM t_items
                 UNION ALL SELECT 'pairs', '[' || a || ',' || to_json(b)::text || ']', jsonb_build_object('a', a, 'b', b, 'v', v)
                   FROM t_pairs),
         r AS (SELECT collection c, key k, "row" j FROM fieldsync.rows WHERE NOT deleted)
    SELECT count(*) FROM src FULL JOIN r ON src.c = r.c AND src.k = r.k WHERE src.j IS DISTINCT FROM r.j)sql") == "0");
}

TEST_CASE("a second ingest waits for the leader and takes over when it goes", "[pg][feed]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  auto first = std::make_unique<ingest_harness>(dsn, slot_for(db), feed_collections());
  first->wait_until_streaming();
  ingest_harness second(dsn, slot_for(db), feed_collections());
  wait_until([&] { return second.status().phase == "waiting"; }, 30s, "the second to wait");
  CHECK_FALSE(second.status().leader);

  std::atomic<bool> stop{false};
  workload_options w;
  w.changes = 20'000;
  w.writers = 2;
  std::thread writers([&] { run_feed_workload(dsn, w, &stop); });
  wait_until([&] { return first->status().changes > 1000; }, 60s, "the first to ingest");
  first.reset();  // gone: its session ends, its lock with it
  wait_until([&] { return second.status().leader; }, 30s, "the second to lead");
  writers.join();
  wait_for_log(dsn);
  check_feed(dsn);
}
