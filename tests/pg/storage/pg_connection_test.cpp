// The non-blocking libpq glue against the real test cluster.

#include "storage/pg_connection.hpp"
#include "storage/pg_pool.hpp"

#include "tests/support/pg_test_db.hpp"

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <chrono>

using namespace fieldsync::storage;
using fieldsync::test::fresh_database;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Never co_await inside a Catch2 assertion: GCC 12 evaluates the awaited expression more
// than once there (the macro repeats it in a short-circuited operand). Bind it first.

// Runs one coroutine to completion on a fresh io_context and returns its value.
template <typename F>
auto run(F f) {
  asio::io_context ioc;
  auto fut = asio::co_spawn(ioc, f(ioc.get_executor()), asio::use_future);
  ioc.run();
  return fut.get();
}

pg_pool_options pool_options(const std::string& conninfo, std::size_t size,
                             std::size_t max_waiters) {
  pg_pool_options o;
  o.conninfo = conninfo;
  o.size = size;
  o.max_waiters = max_waiters;
  o.connect_timeout = 10s;
  return o;
}

asio::awaitable<std::unique_ptr<pg_connection>> connect(asio::any_io_executor ex,
                                                        const std::string& conninfo) {
  auto c = co_await pg_connection::async_connect(ex, conninfo, 10s);
  if (!c) throw std::runtime_error(c.error().to_string());
  co_return std::move(*c);
}

}  // namespace

TEST_CASE("queries with parameters, NULLs and text results", "[pg][pg_connection]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    auto r = co_await c->async_query("SELECT $1::int + 1, $2::text, $3::text IS NULL",
                                     pg_params(41, "héllo", std::nullopt));
    REQUIRE(r.has_value());
    CHECK(r->rows() == 1);
    CHECK(r->value(0, 0) == "42");
    CHECK(r->value(0, 1) == "héllo");
    CHECK(r->value(0, 2) == "t");
    CHECK(r->column_name(1) == "text");

    auto many = co_await c->async_query("SELECT g, NULL::int FROM generate_series(1, 1000) g");
    REQUIRE(many.has_value());
    CHECK(many->rows() == 1000);
    CHECK(many->is_null(999, 1));
    CHECK_FALSE(many->get(999, 1));

    auto ins = co_await c->async_exec("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 7)");
    REQUIRE(ins.has_value());
    CHECK(ins->affected_rows() == 7);
  });
}

TEST_CASE("server errors surface their SQLSTATE and the connection stays usable", "[pg][pg_connection]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    auto missing = co_await c->async_query("SELECT * FROM no_such_table");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == pg_errc::query_failed);
    CHECK(missing.error().sqlstate == "42P01");
    CHECK_THAT(missing.error().message, Catch::Contains("no_such_table"));

    auto div = co_await c->async_query("SELECT 1 / $1::int", pg_params(0));
    REQUIRE_FALSE(div.has_value());
    CHECK(div.error().sqlstate == "22012");

    // In a multi-statement string the first error wins and nothing after it runs.
    auto multi = co_await c->async_exec("CREATE TABLE a (x int); SELECT 1/0; CREATE TABLE b (x int)");
    REQUIRE_FALSE(multi.has_value());
    CHECK(multi.error().sqlstate == "22012");
    CHECK(c->is_ok());
    auto after = co_await c->async_query("SELECT to_regclass('b') IS NULL");
    REQUIRE(after.has_value());
    CHECK(after->value(0, 0) == "t");
  });
}

TEST_CASE("COPY FROM STDIN in chunks", "[pg][pg_connection]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    auto created = co_await c->async_exec("CREATE TABLE t (id int, label text)");
    REQUIRE(created.has_value());
    int next = 0;
    auto copied = co_await c->async_copy_in(
        "COPY t (id, label) FROM STDIN", [&](std::string& chunk) {
          for (int i = 0; i < 10'000 && next < 100'000; ++i, ++next) {
            chunk += std::to_string(next) + "\tlabel " + std::to_string(next) + "\n";
          }
          return next < 100'000;
        });
    REQUIRE(copied.has_value());
    CHECK(*copied == 100'000);
    auto count = co_await c->async_query("SELECT count(*), sum(id) FROM t");
    REQUIRE(count.has_value());
    CHECK(count->value(0, 0) == "100000");
    CHECK(count->value(0, 1) == "4999950000");

    // Bad data aborts the COPY with the server's error; a throwing source aborts it too.
    auto bad = co_await c->async_copy_in("COPY t (id, label) FROM STDIN",
                                         [](std::string& chunk) { chunk = "x\ty\n"; return false; });
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == pg_errc::copy_failed);
    CHECK(bad.error().sqlstate == "22P02");
    auto thrown = co_await c->async_copy_in("COPY t (id, label) FROM STDIN", [](std::string&) -> bool {
      throw std::runtime_error("generator broke");
    });
    REQUIRE_FALSE(thrown.has_value());
    CHECK_THAT(thrown.error().message, Catch::Contains("generator broke"));
    auto still = co_await c->async_query("SELECT count(*) FROM t");
    REQUIRE(still.has_value());
    CHECK(still->value(0, 0) == "100000");
  });
}

TEST_CASE("connect failures: refused, and a peer that never answers", "[pg][pg_connection]") {
  asio::io_context ioc;
  // A listening socket that accepts (in the kernel) but never speaks.
  asio::ip::tcp::acceptor blackhole(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  auto silent_port = blackhole.local_endpoint().port();
  std::uint16_t closed_port;
  {
    asio::ip::tcp::acceptor tmp(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = tmp.local_endpoint().port();
  }
  auto fut = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto refused = co_await pg_connection::async_connect(
            ex, "host=127.0.0.1 port=" + std::to_string(closed_port) + " dbname=x", 10s);
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == pg_errc::connection_failed);
        CHECK_THAT(refused.error().message, Catch::Contains("refused"));

        auto silent = co_await pg_connection::async_connect(
            ex, "host=127.0.0.1 port=" + std::to_string(silent_port) + " dbname=x", 300ms);
        REQUIRE_FALSE(silent.has_value());
        CHECK(silent.error().code == pg_errc::connect_timeout);
      },
      asio::use_future);
  ioc.run();
  fut.get();
}

TEST_CASE("a terminated backend: connection_lost, and the pool replaces it", "[pg][pg_connection][pool]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto admin = co_await connect(ex, db.conninfo());
    auto pool = pg_pool::create(ex, pool_options(db.conninfo(), 1, 100));
    int victim_pid = 0;
    {
      auto c = co_await pool->async_acquire();
      REQUIRE(c.has_value());
      victim_pid = (*c)->backend_pid();
      auto killed = co_await admin->async_query("SELECT pg_terminate_backend($1)", pg_params(victim_pid));
      REQUIRE(killed.has_value());
      // The backend is gone: the next query notices, whatever the timing of the FATAL.
      pg_outcome<fieldsync::storage::pg_result> r = fieldsync::storage::pg_result();
      for (int i = 0; i < 50 && r.has_value(); ++i) {
        r = co_await (*c)->async_query("SELECT pg_sleep(0.01)");
      }
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == pg_errc::connection_lost);
      CHECK_FALSE((*c)->is_ok());
    }
    auto replaced = co_await pool->async_query("SELECT pg_backend_pid()");
    REQUIRE(replaced.has_value());
    CHECK(replaced->value(0, 0) != std::to_string(victim_pid));
    CHECK(pool->open_connections() == 1);
  });
}

TEST_CASE("a connection given back inside a transaction is not handed to the next user",
          "[pg][pool]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto pool = pg_pool::create(ex, pool_options(db.conninfo(), 1, 100));
    int first_pid = 0;
    {
      auto c = co_await pool->async_acquire();
      REQUIRE(c.has_value());
      first_pid = (*c)->backend_pid();
      auto begun = co_await (*c)->async_exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
      REQUIRE(begun.has_value());
      auto failed = co_await (*c)->async_query("SELECT 1/0");
      REQUIRE_FALSE(failed.has_value());  // the transaction is now aborted
    }
    auto next = co_await pool->async_acquire();
    REQUIRE(next.has_value());
    CHECK((*next)->backend_pid() != first_pid);
    CHECK(PQtransactionStatus((*next)->native()) == PQTRANS_IDLE);
    auto works = co_await (*next)->async_query("SELECT 1");
    CHECK(works.has_value());
    CHECK(pool->open_connections() == 1);
  });
}

TEST_CASE("LISTEN/NOTIFY arrive through async_wait_notifications", "[pg][pg_connection]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto listener = co_await connect(ex, db.conninfo());
    auto notifier = co_await connect(ex, db.conninfo());
    auto listening = co_await listener->async_exec("LISTEN fieldsync_test");
    REQUIRE(listening.has_value());
    auto notified = co_await notifier->async_query("SELECT pg_notify('fieldsync_test', $1)", pg_params("0/16B3748"));
    REQUIRE(notified.has_value());
    auto got = co_await listener->async_wait_notifications();
    REQUIRE(got.has_value());
    REQUIRE(got->size() == 1);
    CHECK(got->front().channel == "fieldsync_test");
    CHECK(got->front().payload == "0/16B3748");
    CHECK(got->front().backend_pid == notifier->backend_pid());
  });
}

TEST_CASE("a second operation while one is in flight fails with busy", "[pg][pg_connection]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    std::optional<pg_outcome<fieldsync::storage::pg_result>> slow;
    asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
      slow = co_await c->async_query("SELECT pg_sleep(0.2)");
    }, asio::detached);
    co_await asio::post(ex, asio::use_awaitable);  // the slow query is in flight now
    auto second = co_await c->async_query("SELECT 1");
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().code == pg_errc::busy);
    asio::steady_timer t(ex);
    while (!slow) {
      t.expires_after(10ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    CHECK(slow->has_value());
    auto after = co_await c->async_query("SELECT 1");
    CHECK(after.has_value());
  });
}

TEST_CASE("destroying a connection mid-query cancels the query safely", "[pg][pg_connection]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    std::optional<pg_outcome<fieldsync::storage::pg_result>> slow;
    asio::co_spawn(ex, [&, conn = c.get()]() -> asio::awaitable<void> {
      slow = co_await conn->async_query("SELECT pg_sleep(10)");
    }, asio::detached);
    co_await asio::post(ex, asio::use_awaitable);
    c.reset();
    asio::steady_timer t(ex);
    while (!slow) {
      t.expires_after(10ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    REQUIRE_FALSE(slow->has_value());
    CHECK(slow->error().code == boost::asio::error::operation_aborted);
  });
}

TEST_CASE("closing the pool fails its waiters", "[pg][pool]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto pool = pg_pool::create(ex, pool_options(db.conninfo(), 1, 100));
    auto held = co_await pool->async_acquire();
    REQUIRE(held.has_value());
    int failed = 0;
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(ex, [&, pool]() -> asio::awaitable<void> {
        auto r = co_await pool->async_acquire();
        if (!r.has_value() && r.error().code == pg_errc::pool_closed) ++failed;
      }, asio::detached);
    }
    asio::steady_timer t(ex, 50ms);
    co_await t.async_wait(asio::use_awaitable);
    CHECK(pool->waiters() == 3);
    pool->close();
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));  // let the waiters run
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
    CHECK(failed == 3);
    auto after = co_await pool->async_acquire();
    CHECK_FALSE(after.has_value());
  });
}

// The proof that nothing blocks the reactor, without measuring time: 1,000 queries wait in
// PostgreSQL on an advisory lock that only a timer on the same io_context releases. If any
// call blocked the thread, the timer could never fire, the lock would never be released,
// and the test would hang (and be failed by the ctest timeout).
TEST_CASE("1,000 concurrent queries through the pool while a timer keeps firing", "[pg][pool][reactor]") {
  fresh_database db;
  asio::io_context ioc;
  auto ex = ioc.get_executor();
  auto pool = pg_pool::create(ex, pool_options(db.conninfo(), 8, 10'000));
  constexpr int queries = 1000;
  int completed = 0, correct = 0, ticks = 0, ticks_before_release = -1;
  std::chrono::steady_clock::duration max_gap{};
  std::unique_ptr<pg_connection> holder;

  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    holder = co_await connect(ex, db.conninfo());
    auto locked = co_await holder->async_query("SELECT pg_advisory_lock(42)");
    REQUIRE(locked.has_value());
    for (int i = 0; i < queries; ++i) {
      asio::co_spawn(ex, [&, i]() -> asio::awaitable<void> {
        auto r = co_await pool->async_query("SELECT pg_advisory_xact_lock_shared(42), $1::int", pg_params(i));
        ++completed;
        if (r.has_value() && r->value(0, 1) == std::to_string(i)) ++correct;
      }, asio::detached);
    }
    asio::steady_timer timer(ex);
    auto last = std::chrono::steady_clock::now();
    while (completed < queries) {
      timer.expires_after(5ms);
      co_await timer.async_wait(asio::use_awaitable);
      auto now = std::chrono::steady_clock::now();
      max_gap = std::max(max_gap, now - last);
      last = now;
      ++ticks;
      if (ticks == 20) {
        // Every query is still waiting for the lock while the timer fires.
        CHECK(completed == 0);
        ticks_before_release = ticks;
        auto unlocked = co_await holder->async_query("SELECT pg_advisory_unlock(42)");
        REQUIRE(unlocked.has_value());
      }
    }
  }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  ioc.run();

  CHECK(ticks_before_release == 20);
  CHECK(completed == queries);
  CHECK(correct == queries);
  CHECK(pool->open_connections() <= 8);
  WARN("largest gap between timer ticks: "
       << std::chrono::duration_cast<std::chrono::milliseconds>(max_gap).count() << " ms");
}
