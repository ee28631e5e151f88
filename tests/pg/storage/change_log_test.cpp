// The change log's own behaviour: TRUNCATE as deletes, retention and compaction, the
// high-water mark reaching every node through LISTEN/NOTIFY, cursors checked against it.

#include "storage/change_log_reader.hpp"
#include "storage/log_compactor.hpp"
#include "storage/log_listener.hpp"
#include "storage/pg_pool.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/ingest_harness.hpp"
#include "tests/support/pg_test_db.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace fieldsync;
using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

std::string slot_for(const fresh_database& db) { return "fs_" + db.name(); }

template <typename F>
void wait_until(F done, std::chrono::seconds timeout, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting: " << what);
    std::this_thread::sleep_for(20ms);
  }
}

// Runs one coroutine on a fresh io_context to completion.
template <typename T>
T run(asio::io_context& ioc, asio::awaitable<T> a) {
  auto f = asio::co_spawn(ioc, std::move(a), asio::use_future);
  ioc.restart();
  ioc.run();
  return f.get();
}

}  // namespace

TEST_CASE("a TRUNCATE of a synced table becomes a delete of each of its rows", "[pg][log]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  ingest_harness ingest(dsn, slot_for(db), feed_collections());
  ingest.wait_until_streaming();
  exec_sql(dsn, "INSERT INTO t_pairs (a, b, v) VALUES (1, 'x', 1), (2, 'y', 1), (3, 'z', 1)");
  wait_for_log(dsn);
  exec_sql(dsn, "BEGIN; DELETE FROM t_pairs WHERE a = 3; TRUNCATE t_pairs; "
                "INSERT INTO t_pairs (a, b, v) VALUES (4, 'after', 1); COMMIT");
  wait_for_log(dsn);
  auto last_txn = query_value(dsn, "SELECT string_agg(key || ':' || op::text, ',' ORDER BY idx) FROM fieldsync.changes "
                                   "WHERE lsn = (SELECT max(lsn) FROM fieldsync.changes WHERE collection = 'pairs')");
  CHECK(last_txn == "[3,\"z\"]:d,[1,\"x\"]:d,[2,\"y\"]:d,[4,\"after\"]:i");
  CHECK(query_value(dsn, "SELECT string_agg(key, ',') FROM fieldsync.rows WHERE collection = 'pairs' AND NOT deleted") ==
        "[4,\"after\"]");
}

TEST_CASE("compaction moves the horizon, drops old changes and tombstones, keeps live rows",
          "[pg][log]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  {
    ingest_harness ingest(dsn, slot_for(db), feed_collections());
    ingest.wait_until_streaming();
    workload_options w;
    w.changes = 2'000;
    run_feed_workload(dsn, w);
    wait_for_log(dsn);
    ingest.stop();
  }
  const auto live_before = query_value(dsn, "SELECT count(*) FROM fieldsync.rows WHERE NOT deleted");
  REQUIRE(std::stoll(query_value(dsn, "SELECT count(*) FROM fieldsync.rows WHERE deleted")) > 0);
  // Age half of the log: those changes are past a one-hour history window.
  exec_sql(dsn, "UPDATE fieldsync.changes SET commit_time = commit_time - interval '2 hours' "
                "WHERE lsn <= (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY lsn) FROM fieldsync.changes); "
                "UPDATE fieldsync.rows SET changed_at = changed_at - interval '2 hours' WHERE deleted");
  const auto cut = query_value(dsn, "SELECT max(lsn)::text FROM fieldsync.changes WHERE commit_time < now() - interval '1 hour'");
  const auto total = std::stoll(query_value(dsn, "SELECT count(*) FROM fieldsync.changes"));
  const auto old = std::stoll(query_value(dsn, "SELECT count(*) FROM fieldsync.changes WHERE lsn <= '" + cut + "'"));

  asio::io_context ioc;
  storage::pg_pool_options po;
  po.conninfo = dsn;
  auto pool = storage::pg_pool::create(ioc.get_executor(), po);
  storage::compaction_options co;
  co.history = 1h;
  co.tombstones = 1h;
  co.chunk_rows = 100;  // several chunks
  auto report = run(ioc, storage::async_compact_log(*pool, co));
  REQUIRE(report.has_value());
  CHECK_FALSE(report->skipped);
  CHECK(static_cast<long long>(report->changes_removed) == old);
  CHECK(report->tombstones_removed > 0);
  CHECK(std::stoll(query_value(dsn, "SELECT count(*) FROM fieldsync.changes")) == total - old);
  CHECK(query_value(dsn, "SELECT horizon_lsn::text FROM fieldsync.state") == cut);
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.rows WHERE deleted") == "0");
  CHECK(query_value(dsn, "SELECT count(*) FROM fieldsync.rows WHERE NOT deleted") == live_before);

  // A cursor below the horizon can no longer resume; one at it can.
  auto bounds = run(ioc, [&]() -> asio::awaitable<storage::pg_outcome<std::optional<storage::log_bounds>>> {
    auto c = co_await pool->async_acquire();
    if (!c) co_return c.error();
    co_return co_await storage::async_log_bounds(**c, "items");
  }());
  REQUIRE(bounds.has_value());
  REQUIRE(*bounds);
  auto horizon = *protocol::lsn::parse(cut);
  CHECK(storage::check_cursor(**bounds, {(*bounds)->epoch, protocol::lsn(horizon.value() - 1)}) ==
        storage::cursor_verdict::before_horizon);
  CHECK(storage::check_cursor(**bounds, {(*bounds)->epoch, horizon}) == storage::cursor_verdict::ok);
  CHECK(storage::check_cursor(**bounds, {(*bounds)->epoch + 1, horizon}) == storage::cursor_verdict::other_epoch);
  pool->close();
}

TEST_CASE("every node hears the log's new high-water mark", "[pg][log]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  ingest_harness ingest(dsn, slot_for(db), feed_collections());
  ingest.wait_until_streaming();

  asio::io_context ioc;
  std::vector<storage::log_position> heard;
  auto listener = storage::log_listener::create(
      ioc.get_executor(), dsn, [&](const storage::log_position& p) { heard.push_back(p); }, 5s);
  listener->start();
  std::thread t([&] {
    auto guard = asio::make_work_guard(ioc);
    ioc.run();
  });
  auto high = [&] { return query_value(dsn, "SELECT high_lsn::text FROM fieldsync.state"); };
  auto heard_high = [&] {
    return asio::co_spawn(ioc, [&]() -> asio::awaitable<std::string> {
      co_return heard.empty() ? std::string() : heard.back().high.to_string();
    }, asio::use_future).get();
  };
  wait_until([&] { return heard_high() == high(); }, 30s, "the current position on start");
  for (int i = 0; i < 3; ++i) {
    exec_sql(dsn, "INSERT INTO t_pairs (a, b, v) VALUES (" + std::to_string(100 + i) + ", 'n', 1)");
    wait_for_log(dsn);
    wait_until([&] { return heard_high() == high(); }, 30s, "the notification of a new commit");
  }
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { listener->stop(); co_return; }, asio::use_future).get();
  ioc.stop();
  t.join();
  CHECK(heard.front().epoch == std::stoll(query_value(dsn, "SELECT epoch FROM fieldsync.state")));
  for (std::size_t i = 1; i < heard.size(); ++i) CHECK(heard[i - 1].high < heard[i].high);
}
