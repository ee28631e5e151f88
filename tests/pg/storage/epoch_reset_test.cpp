// The epoch reset against readers of the log on real PostgreSQL: it never deadlocks with
// one (whatever order the reader locks the log's tables in), it is one step (a reader sees
// the old epoch or the new one, never a mix, and a snapshot older than the reset finds no
// state rather than the old epoch's), readers that arrive meanwhile wait for it and read
// the new epoch, its notification carries the new epoch, and epoch-checked reads of the
// change log refuse positions of an epoch that ended. And the ingest around it: a reset
// that fails after replacing the slot is finished by the next attempt, as one epoch.

#include "storage/change_log_reader.hpp"
#include "storage/log_schema.hpp"
#include "storage/log_state.hpp"
#include "storage/snapshot_reader.hpp"

#include "tests/support/feed_workload.hpp"
#include "tests/support/ingest_harness.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/pg_test_db.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

using namespace fieldsync;
using namespace fieldsync::storage;
using fieldsync::test::fresh_database;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

const protocol::lsn first_point = *protocol::lsn::parse("0/1000");
const protocol::lsn next_point = *protocol::lsn::parse("0/9000");
const std::string collection = "c";

template <typename T>
T must(pg_outcome<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().to_string());
  return std::move(*r);
}

asio::awaitable<std::unique_ptr<pg_connection>> connect(const std::string& dsn) {
  auto ex = co_await asio::this_coro::executor;
  co_return must(co_await pg_connection::async_connect(ex, dsn, 10s), "connect");
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  (void)co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Until `n` sessions wait for a lock on fieldsync.state (bounded).
asio::awaitable<void> until_waiting_on_state(pg_connection& observer, int n) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto r = must(co_await observer.async_query("SELECT count(*) FROM pg_locks WHERE NOT granted "
                                                "AND relation = 'fieldsync.state'::regclass"),
                  "pg_locks");
    if (std::stoi(std::string(r.value(0, 0))) >= n) co_return;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("nobody waits for fieldsync.state");
    co_await pause(20ms);
  }
}

// A log in its first epoch: collection c loaded at first_point, two changes after it.
asio::awaitable<std::int64_t> make_log(pg_connection& c) {
  must(co_await async_migrate_log_schema(c), "migrate");
  auto state = must(co_await async_start_epoch(c, "fs", first_point), "first epoch");
  must(co_await c.async_query(
           "INSERT INTO fieldsync.collections (name, relation, columns, primary_key, epoch, "
           "loaded_lsn) VALUES ('c', '\"public\".\"t\"', '{id}', '{id}', $1, '0/1000')",
           pg_params(state.epoch)),
       "collections");
  must(co_await c.async_exec(
           "INSERT INTO fieldsync.rows (collection, key, lsn, deleted, \"row\") VALUES "
           "('c', '1', '0/2000', false, '{\"id\":1}'), ('c', '2', '0/3000', false, '{\"id\":2}');"
           "INSERT INTO fieldsync.changes (lsn, idx, collection, key, op, \"row\", commit_time, "
           "xid) VALUES ('0/2000', 0, 'c', '1', 'i', '{\"id\":1}', now(), 10),"
           "('0/3000', 0, 'c', '2', 'i', '{\"id\":2}', now(), 11);"
           "UPDATE fieldsync.state SET high_lsn = '0/3000', resume_lsn = '0/3000'"),
       "log contents");
  co_return state.epoch;
}

template <typename F>
auto run(F body) {
  asio::io_context ioc;
  auto fut = asio::co_spawn(ioc, body(), asio::use_future);
  ioc.run();
  return fut.get();
}

// Starts the reset as a coroutine of its own; its outcome lands in `out`.
void spawn_reset(pg_connection& c, epoch_reset_options options,
                 std::optional<pg_outcome<log_state>>& out) {
  asio::co_spawn(
      c.get_executor(),
      [&c, options, &out]() -> asio::awaitable<void> {
        out = co_await async_start_epoch(c, "fs", next_point, options);
      },
      asio::detached);
}

asio::awaitable<void> until_done(const std::optional<pg_outcome<log_state>>& out) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!out) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("reset hangs");
    co_await pause(20ms);
  }
}

}  // namespace

TEST_CASE(
    "epoch reset: a reader holding state and collections, then reading changes, "
    "finishes first, without a deadlock",
    "[pg][epoch]") {
  // The deadlock of issue 11: a pull read the bounds (state, collections) in its
  // REPEATABLE READ transaction, the reset truncated changes and rows and waited for
  // collections, the pull then read changes.
  fresh_database db;
  const auto dsn = db.conninfo();
  run([&]() -> asio::awaitable<void> {
    auto admin = co_await connect(dsn);
    const auto old_epoch = co_await make_log(*admin);
    auto reader = co_await connect(dsn);
    auto resetter = co_await connect(dsn);
    auto listener = co_await connect(dsn);
    must(co_await listener->async_exec("LISTEN fieldsync_log"), "listen");

    auto bounds = must(co_await async_begin_read(*reader, collection), "begin read");
    REQUIRE(bounds);
    CHECK(bounds->epoch == old_epoch);
    CHECK(bounds->loaded);

    std::optional<pg_outcome<log_state>> reset;
    spawn_reset(*resetter, {.lock_wait = 200ms, .max_lock_wait = 200ms, .attempts = 100}, reset);
    co_await until_waiting_on_state(*admin, 1);

    // The reader goes on with the other tables while the reset waits (and retries).
    auto changes =
        must(co_await async_read_changes(*reader, protocol::cursor{old_epoch, first_point},
                                         bounds->high, 100, &collection),
             "read changes");
    CHECK(changes.size() == 2);
    co_await pause(500ms);
    auto rows = must(co_await reader->async_query("SELECT count(*) FROM fieldsync.rows"), "rows");
    CHECK(rows.value(0, 0) == "2");
    auto state = must(co_await reader->async_query("SELECT epoch FROM fieldsync.state"), "state");
    CHECK(state.value(0, 0) == std::to_string(old_epoch));  // one instant, one epoch
    co_await async_end_read(*reader);

    co_await until_done(reset);
    const auto fresh = must(std::move(*reset), "reset");
    CHECK(fresh.epoch != old_epoch);
    CHECK(fresh.resume == next_point);
    CHECK(fresh.high == next_point);
    CHECK(fresh.slot == "fs");
    auto left = must(co_await admin->async_query(
                         "SELECT (SELECT count(*) FROM fieldsync.changes) + (SELECT count(*) FROM "
                         "fieldsync.rows) + (SELECT count(*) FROM fieldsync.collections)"),
                     "left");
    CHECK(left.value(0, 0) == "0");

    // Every node learns of the new epoch at once: "<epoch> <position>".
    auto notes = must(co_await listener->async_wait_notifications(), "notifications");
    REQUIRE_FALSE(notes.empty());
    CHECK(notes.back().payload == std::to_string(fresh.epoch) + " " + next_point.to_string());
  });
}

TEST_CASE("epoch reset: a reader that locks changes before state does not deadlock with it",
          "[pg][epoch]") {
  // A reader outside fieldsync's lock order (a BI tool on the log, say): it holds changes
  // and then reads state. The reset, holding state, does not wait for changes (NOWAIT): it
  // gives everything back and tries again, so the reader is never a deadlock victim.
  fresh_database db;
  const auto dsn = db.conninfo();
  run([&]() -> asio::awaitable<void> {
    auto admin = co_await connect(dsn);
    const auto old_epoch = co_await make_log(*admin);
    auto reader = co_await connect(dsn);
    auto resetter = co_await connect(dsn);

    auto first = must(co_await reader->async_exec("BEGIN ISOLATION LEVEL REPEATABLE READ;"
                                                  "SELECT count(*) FROM fieldsync.changes"),
                      "changes first");
    CHECK(first.value(0, 0) == "2");
    std::optional<pg_outcome<log_state>> reset;
    spawn_reset(*resetter, {.lock_wait = 5000ms, .max_lock_wait = 5000ms, .attempts = 1000}, reset);
    co_await pause(300ms);  // the reset tries (and gives way) several times meanwhile
    CHECK_FALSE(reset);
    // Were the reset to wait for `changes` while it holds the state, this read would close
    // the cycle and one of the two would be a deadlock victim (deadlock_timeout is 1 s;
    // the reader stays past it, holding both tables).
    auto state =
        must(co_await reader->async_query("SELECT epoch, pg_sleep(1.5) FROM fieldsync.state"),
             "then state");
    CHECK(state.value(0, 0) == std::to_string(old_epoch));
    must(co_await reader->async_exec("COMMIT"), "commit");

    co_await until_done(reset);
    const auto fresh = must(std::move(*reset), "reset");
    CHECK(fresh.epoch != old_epoch);
  });
}

TEST_CASE(
    "epoch reset: readers arriving while it waits read the new epoch, older snapshots "
    "find no state",
    "[pg][epoch]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  run([&]() -> asio::awaitable<void> {
    auto admin = co_await connect(dsn);
    const auto old_epoch = co_await make_log(*admin);
    auto holder = co_await connect(dsn);
    auto late = co_await connect(dsn);
    auto old_snapshot = co_await connect(dsn);
    auto resetter = co_await connect(dsn);

    // A snapshot taken before the reset that touches the log only afterwards.
    must(co_await old_snapshot->async_exec("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1"),
         "old snapshot");

    auto held = must(co_await async_begin_read(*holder, collection), "holder");
    REQUIRE(held);
    std::optional<pg_outcome<log_state>> reset;
    spawn_reset(*resetter, {.lock_wait = 20000ms, .max_lock_wait = 20000ms, .attempts = 3}, reset);
    co_await until_waiting_on_state(*admin, 1);

    // A reader arriving now queues behind the reset, and reads once it committed.
    std::optional<pg_outcome<std::optional<log_bounds>>> late_bounds;
    asio::co_spawn(
        late->get_executor(),
        [&]() -> asio::awaitable<void> {
          late_bounds = co_await async_begin_read(*late, collection);
        },
        asio::detached);
    co_await until_waiting_on_state(*admin, 2);
    co_await async_end_read(*holder);

    co_await until_done(reset);
    const auto fresh = must(std::move(*reset), "reset");
    while (!late_bounds) co_await pause(20ms);
    auto lb = must(std::move(*late_bounds), "late reader");
    REQUIRE(lb);
    CHECK(lb->epoch == fresh.epoch);  // not the old epoch: it waited for the reset
    CHECK_FALSE(lb->loaded);          // the collection is not copied into the new epoch yet
    co_await async_end_read(*late);

    // The snapshot from before the reset: no state at all (a "no log yet"), never old_epoch.
    auto seen = must(co_await old_snapshot->async_query("SELECT count(*) FROM fieldsync.state"),
                     "old snapshot reads state");
    CHECK(seen.value(0, 0) == "0");
    must(co_await old_snapshot->async_exec("COMMIT"), "commit");
    CHECK(fresh.epoch != old_epoch);
  });
}

TEST_CASE("epoch-checked change reads answer only for the log's current epoch", "[pg][epoch]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  run([&]() -> asio::awaitable<void> {
    auto c = co_await connect(dsn);
    const auto old_epoch = co_await make_log(*c);
    const auto upto = *protocol::lsn::parse("0/3000");
    const protocol::cursor from{old_epoch, first_point};

    auto all = must(co_await async_read_changes_in_epoch(*c, from, upto, 100, &collection), "read");
    REQUIRE(all);
    CHECK(all->changes.size() == 2);
    CHECK(all->high.to_string() == "0/3000");  // the state's, read in the same snapshot
    auto none =
        must(co_await async_read_changes_in_epoch(*c, protocol::cursor{old_epoch, upto}, upto, 100),
             "read past the end");
    REQUIRE(none);
    CHECK(none->changes.empty());
    auto other = must(co_await async_read_changes_in_epoch(
                          *c, protocol::cursor{old_epoch + 1, first_point}, upto, 100, &collection),
                      "another epoch");
    CHECK_FALSE(other);

    auto fresh = must(co_await async_start_epoch(*c, "fs", next_point), "reset");
    // Changes written in the new epoch at positions the old one also had (a source
    // database restored to an earlier point re-uses LSNs): never served to an old cursor.
    must(co_await c->async_exec(
             "INSERT INTO fieldsync.changes (lsn, idx, collection, key, op, \"row\", "
             "commit_time, xid) VALUES ('0/2800', 0, 'c', '9', 'i', '{\"id\":9}', now(), 20)"),
         "new epoch's change");
    auto stale = must(co_await async_read_changes_in_epoch(*c, from, upto, 100, &collection),
                      "old cursor after the reset");
    CHECK_FALSE(stale);
    auto current = must(co_await async_read_changes_in_epoch(
                            *c, protocol::cursor{fresh.epoch, first_point}, upto, 100, &collection),
                        "new cursor");
    REQUIRE(current);
    REQUIRE(current->changes.size() == 1);
    CHECK(current->changes.front().change.key == "9");
  });
}

TEST_CASE(
    "epoch reset: a reset that fails after replacing the slot is finished by the next "
    "attempt, as one epoch",
    "[pg][epoch][fault]") {
  // The second half: the reset failed (there: a deadlock), and the retry took the
  // slot the failed attempt had made for a restored backup and started a second epoch.
  fresh_database db;
  const auto dsn = db.conninfo();
  const std::string slot = "fs_" + db.name();
  test::create_feed_schema(dsn);
  std::int64_t first_epoch = 0;
  {
    test::ingest_harness first(dsn, slot, test::feed_collections());
    first.wait_until_streaming();
    first_epoch = first.status().epoch;
    first.stop();
  }
  for (auto until = std::chrono::steady_clock::now() + 30s;;) {
    try {
      test::exec_sql(dsn, "SELECT pg_drop_replication_slot('" + slot + "')");
      break;
    } catch (const std::exception&) {  // its walsender has not ended yet
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(20ms);
    }
  }

  // A reader of the log that holds it (in the lock order) for as long as it likes: the
  // reset cannot take its locks, gives up after its attempts, and the ingest retries.
  auto reader = test::pg_connect(dsn);
  test::pg_exec(reader.get(),
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
                "LOCK TABLE fieldsync.state IN ACCESS SHARE MODE;"
                "SELECT count(*) FROM fieldsync.changes");
  test::ingest_harness second(dsn, slot, test::feed_collections(), [](ingest_options& o) {
    o.epoch_reset = {.lock_wait = 50ms, .max_lock_wait = 50ms, .attempts = 2};
  });
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (second.status().restarts < 3) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(20ms);
  }
  // Meanwhile the log is the old epoch's, marked as being reset; the slot is the one the
  // last attempt made.
  CHECK(test::query_value(dsn, "SELECT epoch FROM fieldsync.state") == std::to_string(first_epoch));
  CHECK(test::query_value(dsn, "SELECT slot_name FROM fieldsync.state") == epoch_reset_marker);
  CHECK(second.status().epochs_started == 0);
  test::pg_exec(reader.get(), "COMMIT");

  second.wait_until_streaming();
  const auto status = second.status();
  CHECK(status.epochs_started == 1);
  CHECK(status.epoch != first_epoch);
  CHECK(status.epoch_reason.find("did not finish") != std::string::npos);
  CHECK(status.epoch_reason.find("restored") == std::string::npos);
  CHECK(test::query_value(dsn, "SELECT epoch FROM fieldsync.state") ==
        std::to_string(status.epoch));
  CHECK(test::query_value(dsn, "SELECT slot_name FROM fieldsync.state") == slot);
  // And it streams from the slot it kept, as one history.
  test::workload_options w;
  w.changes = 2'000;
  w.writers = 2;
  test::run_feed_workload(dsn, w);
  test::wait_for_log(dsn);
  CHECK(test::query_value(dsn,
                          "SELECT count(*) FROM (SELECT 'items' c, id::text k FROM t_items "
                          "EXCEPT SELECT collection, key FROM fieldsync.rows WHERE NOT "
                          "deleted) x") == "0");
  CHECK(second.status().epochs_started == 1);
}
