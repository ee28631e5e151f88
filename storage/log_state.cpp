#include "storage/log_state.hpp"
#include "storage/sqlstate.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

asio::awaitable<pg_outcome<std::optional<log_state>>> async_read_log_state(pg_connection& storage) {
  auto r = co_await storage.async_query(
      "SELECT epoch, slot_name, resume_lsn::text, high_lsn::text, horizon_lsn::text "
      "FROM fieldsync.state");
  if (!r) co_return r.error();
  if (r->rows() == 0) co_return std::optional<log_state>();
  log_state s;
  s.epoch = std::stoll(std::string(r->value(0, 0)));
  s.slot = std::string(r->value(0, 1));
  s.resume = lsn::parse(r->value(0, 2)).value_or(lsn());
  s.high = lsn::parse(r->value(0, 3)).value_or(lsn());
  s.horizon = lsn::parse(r->value(0, 4)).value_or(lsn());
  co_return std::optional<log_state>(std::move(s));
}

asio::awaitable<pg_outcome<void>> async_mark_epoch_reset(pg_connection& storage) {
  auto r =
      co_await storage.async_query("UPDATE fieldsync.state SET slot_name = $1, updated_at = now()",
                                   pg_params(std::string(epoch_reset_marker)));
  if (!r) co_return r.error();
  co_return pg_outcome<void>{};
}

namespace {

// lock_not_available (lock_timeout, NOWAIT) and deadlock_detected: another session holds
// what the reset needs; it gave everything back and may try again.
bool lock_conflict(const pg_error& e) {
  return e.sqlstate == sqlstate::lock_not_available || e.sqlstate == sqlstate::deadlock_detected;
}

}  // namespace

asio::awaitable<pg_outcome<log_state>> async_start_epoch(pg_connection& storage,
                                                         const std::string& slot,
                                                         lsn consistent_point,
                                                         const epoch_reset_options& options) {
  const std::string point = consistent_point.to_string();
  auto wait = std::max(options.lock_wait, std::chrono::milliseconds(1));
  auto pause = [](std::chrono::milliseconds d) -> asio::awaitable<void> {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    (void)co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  };
  for (int attempt = 1;; ++attempt) {
    // One transaction, the only step readers see. fieldsync.state first, waiting for the
    // readers in flight (they all take it first, so the reset holds nothing meanwhile).
    auto r = co_await storage.async_exec(
        "BEGIN;"
        "SET LOCAL lock_timeout = '" +
        std::to_string(wait.count()) +
        "ms';"
        "LOCK TABLE fieldsync.state IN ACCESS EXCLUSIVE MODE");
    // Then the other tables, never waiting for them in the lock manager while holding the
    // state: a session that holds one of them without the state (a single statement, or
    // a reader that does not follow the lock order) could be waiting for the state, and
    // the two would deadlock. NOWAIT, repeated for a moment under a savepoint (a reader
    // that just committed releases its locks one by one, the state's first), then
    // everything is given back and the attempt repeated.
    for (int poll = 0; r; ++poll) {
      r = co_await storage.async_exec(
          "SAVEPOINT fieldsync_reset;"
          "LOCK TABLE fieldsync.collections, fieldsync.rows, fieldsync.changes "
          "IN ACCESS EXCLUSIVE MODE NOWAIT");
      if (r || r.error().sqlstate != sqlstate::lock_not_available || poll >= 50) break;
      r = co_await storage.async_exec("ROLLBACK TO SAVEPOINT fieldsync_reset");
      co_await pause(std::chrono::milliseconds(10));
    }
    // TRUNCATE, not DELETE, for the state too: a snapshot older than the reset then finds
    // no state, never the old epoch's.
    if (r) {
      r = co_await storage.async_exec(
          "TRUNCATE fieldsync.state, fieldsync.collections, fieldsync.rows, fieldsync.changes");
    }
    if (r) {
      r = co_await storage.async_query(
          "INSERT INTO fieldsync.state (epoch, slot_name, resume_lsn, high_lsn, horizon_lsn) "
          "VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, $1, $2::pg_lsn, "
          "$2::pg_lsn, $2::pg_lsn) RETURNING epoch",
          pg_params(slot, point));
    }
    if (r) {
      // Delivered at commit, as the change log writer's are: "<epoch> <high-water mark>".
      r = co_await storage.async_query("SELECT pg_notify('fieldsync_log', $1)",
                                       pg_params(std::string(r->value(0, 0)) + " " + point));
    }
    if (r) r = co_await storage.async_exec("COMMIT");
    if (r) break;
    (void)co_await storage.async_exec("ROLLBACK");
    if (!lock_conflict(r.error()) || attempt >= options.attempts) co_return r.error();
    spdlog::warn("ingest: the epoch reset waits for readers of the change log (attempt {}: {})",
                 attempt, r.error().message);
    co_await pause(
        std::min(std::chrono::milliseconds(100) * attempt, std::chrono::milliseconds(1000)));
    wait = std::min(wait * 2, std::max(options.max_lock_wait, wait));
  }
  auto state = co_await async_read_log_state(storage);
  if (!state) co_return state.error();
  if (!*state) {
    co_return pg_error{make_error_code(pg_errc::unexpected_result),
                       {},
                       "the change log's state is gone right after the epoch reset"};
  }
  co_return **state;
}

}  // namespace fieldsync::storage
