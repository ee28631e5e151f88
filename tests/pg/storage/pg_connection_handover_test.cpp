// The libpq glue across lost connections (issue 11, item 5): who owns which descriptor when
// the server drops a connection and another one takes its number, the deadlines of every
// wait, the session limits, and the pool and the LISTEN connection recovering by themselves.
//
// The reactor's registrations are read from the kernel (/proc/self/fdinfo of the process's
// epoll descriptors), so "a socket of a live connection missing from the epoll set" is
// checked as such, not inferred from a hang.

#include "storage/log_listener.hpp"
#include "storage/pg_connection.hpp"
#include "storage/pg_pool.hpp"

#include "tests/support/feed_workload.hpp"
#include "tests/support/pg_test_db.hpp"

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace fieldsync::storage;
using fieldsync::test::exec_sql;
using fieldsync::test::fresh_database;
using fieldsync::test::query_value;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

// Never co_await inside a Catch2 assertion: GCC 12 evaluates the awaited expression more
// than once there. Bind it first.

template <typename F>
auto run(F f) {
  asio::io_context ioc;
  auto fut = asio::co_spawn(ioc, f(ioc.get_executor()), asio::use_future);
  ioc.run();
  return fut.get();
}

asio::awaitable<std::unique_ptr<pg_connection>> connect(asio::any_io_executor ex,
                                                        const std::string& conninfo,
                                                        pg_session_limits limits = {}) {
  auto c = co_await pg_connection::async_connect(ex, conninfo, 10s, {}, limits);
  if (!c) throw std::runtime_error(c.error().to_string());
  co_return std::move(*c);
}

// Whether some epoll set of this process watches descriptor `fd` for the socket it names
// now (the kernel keys registrations by number and open file, and fdinfo shows both).
bool in_epoll_set(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) return false;
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec);
    if (ec || target.string() != "anon_inode:[eventpoll]") continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    for (std::string line; std::getline(info, line);) {
      // "tfd:        7 events:       19 data: ...  pos:0 ino:4d4b sdev:8"
      if (line.rfind("tfd:", 0) != 0) continue;
      std::istringstream in(line.substr(4));
      int tfd = -1;
      in >> tfd;
      auto ino_at = line.find(" ino:");
      if (tfd != fd || ino_at == std::string::npos) continue;
      auto ino = std::stoull(line.substr(ino_at + 5), nullptr, 16);
      if (ino == st.st_ino) return true;
    }
  }
  return false;
}

// Runs `op` with a deadline of the test's own, so that a connection that went deaf fails
// the test instead of hanging it.
template <typename T>
asio::awaitable<std::optional<T>> within(asio::any_io_executor ex, asio::awaitable<T> op,
                                         std::chrono::milliseconds limit) {
  asio::steady_timer timer(ex, limit);
  auto r = co_await (std::move(op) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) co_return std::nullopt;
  co_return std::move(std::get<0>(r));
}

// Terminates the backend of `victim` and makes `victim` notice: connection_lost.
asio::awaitable<void> kill_and_notice(pg_connection& admin, pg_connection& victim) {
  auto killed = co_await admin.async_query("SELECT pg_terminate_backend($1)",
                                           pg_params(victim.backend_pid()));
  REQUIRE(killed.has_value());
  pg_outcome<fieldsync::storage::pg_result> r = fieldsync::storage::pg_result();
  for (int i = 0; i < 500 && r.has_value(); ++i)
    r = co_await victim.async_query("SELECT pg_sleep(0.01)");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == pg_errc::connection_lost);
}

asio::awaitable<void> pause(asio::any_io_executor ex, std::chrono::milliseconds d) {
  asio::steady_timer t(ex, d);
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace

TEST_CASE(
    "a connection lost and replaced while the old one still exists: the new one keeps its "
    "registration",
    "[pg][pg_connection][descriptors]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto admin = co_await connect(ex, db.conninfo());
    int reused = 0;
    for (int round = 0; round < 10; ++round) {
      INFO("round " << round);
      auto old = co_await connect(ex, db.conninfo());
      const int old_libpq = PQsocket(old->native());
      // The reactor watches a descriptor of the connection's own, never libpq's.
      CHECK(old->reactor_descriptor() >= 0);
      CHECK(old->reactor_descriptor() != old_libpq);
      CHECK(in_epoll_set(old->reactor_descriptor()));
      CHECK_FALSE(in_epoll_set(old_libpq));

      // The server drops it; libpq closes its socket, and the broken connection lets go of
      // its registration at once.
      co_await kill_and_notice(*admin, *old);
      CHECK_FALSE(old->is_ok());
      CHECK(old->reactor_descriptor() == -1);

      // A new connection while the old object still exists: it typically gets the number
      // libpq just closed. Then the old one goes.
      auto fresh = co_await connect(ex, db.conninfo());
      if (PQsocket(fresh->native()) == old_libpq || fresh->reactor_descriptor() == old_libpq)
        ++reused;
      old.reset();

      CHECK(in_epoll_set(fresh->reactor_descriptor()));
      auto answer = co_await within(ex, fresh->async_query("SELECT 42"), 10s);
      REQUIRE(answer);
      REQUIRE(answer->has_value());
      CHECK((*answer)->value(0, 0) == "42");
      auto listening = co_await fresh->async_exec("LISTEN handover");
      REQUIRE(listening.has_value());
      auto notified =
          co_await admin->async_query("SELECT pg_notify('handover', $1)", pg_params(round));
      REQUIRE(notified.has_value());
      auto got = co_await fresh->async_wait_notifications(std::chrono::steady_clock::now() + 10s);
      REQUIRE(got.has_value());
      REQUIRE(got->size() == 1);
      CHECK(got->front().payload == std::to_string(round));
    }
    // The case of the issue happened, not just something near it.
    CHECK(reused > 0);
  });
}

TEST_CASE(
    "a connection lost while it waits for notifications ends its wait, and its successor works",
    "[pg][pg_connection][descriptors]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto admin = co_await connect(ex, db.conninfo());
    auto waiting = co_await connect(ex, db.conninfo());
    auto listening = co_await waiting->async_exec("LISTEN handover");
    REQUIRE(listening.has_value());
    std::optional<pg_outcome<std::deque<pg_notification>>> ended;
    asio::co_spawn(
        ex,
        [&, c = waiting.get()]() -> asio::awaitable<void> {
          ended = co_await c->async_wait_notifications();  // no deadline: only the loss ends it
        },
        asio::detached);
    co_await asio::post(ex, asio::use_awaitable);
    auto killed = co_await admin->async_query("SELECT pg_terminate_backend($1)",
                                              pg_params(waiting->backend_pid()));
    REQUIRE(killed.has_value());
    for (int i = 0; i < 1000 && !ended; ++i) co_await pause(ex, 10ms);
    REQUIRE(ended);
    REQUIRE_FALSE(ended->has_value());
    CHECK(ended->error().code == pg_errc::connection_lost);
    CHECK(waiting->reactor_descriptor() == -1);

    auto next = co_await connect(ex, db.conninfo());
    waiting.reset();
    CHECK(in_epoll_set(next->reactor_descriptor()));
    auto answer = co_await within(ex, next->async_query("SELECT 1"), 10s);
    REQUIRE(answer);
    CHECK(answer->has_value());
  });
}

TEST_CASE(
    "an operation without an answer in time fails with operation_timeout and breaks the connection",
    "[pg][pg_connection][deadlines]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto admin = co_await connect(ex, db.conninfo());
    auto held = co_await admin->async_query("SELECT pg_advisory_lock(11)");
    REQUIRE(held.has_value());
    pg_session_limits limits;
    limits.operation_timeout = 300ms;
    auto c = co_await connect(ex, db.conninfo(), limits);
    CHECK(c->operation_timeout() == 300ms);
    const int pid = c->backend_pid();
    // Quick answers are not affected.
    for (int i = 0; i < 3; ++i) {
      auto quick = co_await c->async_query("SELECT 1");
      CHECK(quick.has_value());
    }
    auto stuck = co_await within(ex, c->async_query("SELECT pg_advisory_lock(11)"), 30s);
    REQUIRE(stuck);
    REQUIRE_FALSE(stuck->has_value());
    CHECK(stuck->error().code == pg_errc::operation_timeout);
    CHECK_FALSE(c->is_ok());
    CHECK(c->reactor_descriptor() == -1);
    auto after = co_await c->async_query("SELECT 1");
    REQUIRE_FALSE(after.has_value());
    CHECK(after.error().code == pg_errc::connection_lost);
    c.reset();
    // Closed on our side: once the lock is free the backend finds nobody and ends.
    auto unlocked = co_await admin->async_query("SELECT pg_advisory_unlock(11)");
    REQUIRE(unlocked.has_value());
    bool gone = false;
    for (int i = 0; i < 3000 && !gone; ++i) {
      auto r = co_await admin->async_query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                           pg_params(pid));
      REQUIRE(r.has_value());
      gone = r->value(0, 0) == "0";
      if (!gone) co_await pause(ex, 10ms);
    }
    CHECK(gone);
  });
}

TEST_CASE("sessions carry fieldsync's name, lock_timeout and idle_in_transaction_session_timeout",
          "[pg][pg_connection][deadlines]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    pg_session_limits limits;
    limits.lock_timeout = 250ms;
    limits.idle_in_transaction_timeout = 500ms;
    auto c = co_await connect(ex, db.conninfo(), limits);
    auto shown = co_await c->async_query(
        "SELECT current_setting('lock_timeout'), "
        "current_setting('idle_in_transaction_session_timeout'), "
        "current_setting('application_name')");
    REQUIRE(shown.has_value());
    CHECK(shown->value(0, 0) == "250ms");
    CHECK(shown->value(0, 1) == "500ms");
    CHECK(shown->value(0, 2) == "fieldsync");

    // A session left idle inside its transaction is ended by the server, locks and all.
    auto begun = co_await c->async_exec("BEGIN; CREATE TABLE t (x int); LOCK TABLE t");
    REQUIRE(begun.has_value());
    bool ended = false;
    for (int i = 0; i < 3000 && !ended; ++i) {
      ended = !c->check_idle();
      if (!ended) co_await pause(ex, 10ms);
    }
    CHECK(ended);
    CHECK(c->reactor_descriptor() == -1);

    // A conninfo's own application_name wins.
    auto named = co_await connect(ex, db.conninfo() + " application_name=reporting");
    auto name = co_await named->async_query("SELECT current_setting('application_name')");
    REQUIRE(name.has_value());
    CHECK(name->value(0, 0) == "reporting");
  });
}

TEST_CASE(
    "the pool: a deadline for acquiring, and idle connections of a gone server replaced unnoticed",
    "[pg][pool][deadlines]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto admin = co_await connect(ex, db.conninfo());
    pg_pool_options o;
    o.conninfo = db.conninfo();
    o.size = 1;
    o.acquire_timeout = 200ms;
    auto pool = pg_pool::create(ex, o);
    {
      auto held = co_await pool->async_acquire();
      REQUIRE(held.has_value());
      auto late = co_await pool->async_acquire();
      REQUIRE_FALSE(late.has_value());
      CHECK(late.error().code == pg_errc::pool_timeout);
      CHECK(pool->waiters() == 0);
    }

    int pid = 0;
    {
      auto c = co_await pool->async_acquire();
      REQUIRE(c.has_value());
      pid = (*c)->backend_pid();
    }
    CHECK(pool->idle_connections() == 1);
    auto killed = co_await admin->async_query("SELECT pg_terminate_backend($1)", pg_params(pid));
    REQUIRE(killed.has_value());
    bool gone = false;
    for (int i = 0; i < 3000 && !gone; ++i) {
      auto r = co_await admin->async_query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                           pg_params(pid));
      REQUIRE(r.has_value());
      gone = r->value(0, 0) == "0";
      if (!gone) co_await pause(ex, 10ms);
    }
    REQUIRE(gone);
    // The first query after the loss already works: the dead connection was not lent.
    auto r = co_await pool->async_query("SELECT pg_backend_pid()");
    REQUIRE(r.has_value());
    CHECK(r->value(0, 0) != std::to_string(pid));
    CHECK(pool->open_connections() == 1);
  });
}

TEST_CASE("the log listener comes back after its session is killed and delivers what it missed",
          "[pg][log][descriptors]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  exec_sql(dsn,
           "CREATE SCHEMA fieldsync; CREATE TABLE fieldsync.state (epoch bigint, high_lsn pg_lsn); "
           "INSERT INTO fieldsync.state VALUES (7, '0/100')");
  asio::io_context ioc;
  std::vector<log_position> heard;
  log_listener_options o;
  o.connect_timeout = 10s;
  o.check_interval = 200ms;
  o.session.operation_timeout = 5s;
  auto listener = log_listener::create(
      ioc.get_executor(), dsn, [&](const log_position& p) { heard.push_back(p); }, o);
  listener->start();
  std::thread t([&] {
    auto guard = asio::make_work_guard(ioc);
    ioc.run();
  });
  auto last_heard = [&] {
    return asio::co_spawn(
               ioc,
               [&]() -> asio::awaitable<std::string> {
                 co_return heard.empty() ? std::string() : heard.back().high.to_string();
               },
               asio::use_future)
        .get();
  };
  auto wait_heard = [&](const std::string& lsn, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (last_heard() != lsn) {
      if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for " << what);
      std::this_thread::sleep_for(10ms);
    }
  };
  auto listener_pid = [&] {
    return query_value(dsn,
                       "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE "
                       "application_name = 'fieldsync' AND datname = current_database()");
  };
  wait_heard("0/100", "the state read on start");
  exec_sql(dsn, "SELECT pg_notify('fieldsync_log', '7 0/200')");
  wait_heard("0/200", "a notification");

  // Advances with no notification (one lost, say) still arrive: the quiet wait ends with a
  // read of the state.
  exec_sql(dsn, "UPDATE fieldsync.state SET high_lsn = '0/300'");
  wait_heard("0/300", "the periodic check");

  // Killed: it reconnects, and what was stored while it was away arrives (read after the
  // new LISTEN, so what follows is notified).
  for (int i = 0; i < 3; ++i) {
    auto pid = listener_pid();
    REQUIRE(pid != "0");
    exec_sql(dsn, "SELECT pg_terminate_backend(" + pid + ")");
    exec_sql(dsn,
             "UPDATE fieldsync.state SET high_lsn = '0/" + std::to_string(400 + 100 * i) + "'");
    wait_heard("0/" + std::to_string(400 + 100 * i), "the state after a reconnect");
    // Heard on the new session's first read, unless the old one's last check came first:
    // notify until it is heard (a repeated position is delivered once).
    const auto notified = "0/" + std::to_string(450 + 100 * i);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (last_heard() != notified) {
      if (std::chrono::steady_clock::now() > deadline) FAIL("no notification on the new session");
      exec_sql(dsn, "SELECT pg_notify('fieldsync_log', '7 " + notified + "')");
      std::this_thread::sleep_for(50ms);
    }
    CHECK(listener_pid() != pid);
  }
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        listener->stop();
        co_return;
      },
      asio::use_future)
      .get();
  ioc.stop();
  t.join();
}
