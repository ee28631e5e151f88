#include "storage/log_compactor.hpp"
#include "storage/sqlstate.hpp"

#include "storage/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace fieldsync::storage {

namespace asio = boost::asio;

namespace {

constexpr std::string_view compaction_lock_key = "4242010002";

std::string interval_literal(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " milliseconds";
}

// Deletes `select_ctids`' rows chunk by chunk; returns how many went.
asio::awaitable<pg_outcome<std::uint64_t>> delete_in_chunks(pg_connection& conn,
                                                            const std::string& table,
                                                            const std::string& select_ctids,
                                                            const pg_params& params) {
  std::uint64_t total = 0;
  for (;;) {
    auto r = co_await conn.async_query(
        "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(" + select_ctids + "))", params);
    if (!r) co_return r.error();
    auto n = r->affected_rows();
    total += static_cast<std::uint64_t>(n);
    if (n == 0) co_return total;
  }
}

}  // namespace

asio::awaitable<pg_outcome<compaction_report>> async_compact_log(pg_pool& storage,
                                                                 const compaction_options& opts) {
  compaction_report report;
  auto conn = co_await storage.async_acquire();
  if (!conn) co_return conn.error();
  auto& c = **conn;
  // Session lock for the whole pass; released at the end (or when the session dies).
  auto locked = co_await c.async_query("SELECT pg_try_advisory_lock(" + std::string(compaction_lock_key) + ")");
  if (!locked) co_return locked.error();
  if (locked->value(0, 0) != "t") {
    report.skipped = true;
    co_return report;
  }
  auto work = [&]() -> asio::awaitable<pg_outcome<void>> {
    auto cut = co_await c.async_query(
        "SELECT max(lsn)::text FROM fieldsync.changes "
        "WHERE commit_time < now() - $1::interval",
        pg_params(interval_literal(opts.history)));
    if (!cut) co_return cut.error();
    if (!cut->is_null(0, 0)) {
      std::string cut_lsn(cut->value(0, 0));
      // The horizon moves before anything is deleted.
      auto moved = co_await c.async_query(
          "UPDATE fieldsync.state SET horizon_lsn = greatest(horizon_lsn, $1::pg_lsn)",
          pg_params(cut_lsn));
      if (!moved) co_return moved.error();
      auto n = co_await delete_in_chunks(
          c, "fieldsync.changes",
          "SELECT ctid FROM fieldsync.changes WHERE lsn <= $1::pg_lsn LIMIT " +
              std::to_string(opts.chunk_rows),
          pg_params(cut_lsn));
      if (!n) co_return n.error();
      report.changes_removed = *n;
    }
    auto t = co_await delete_in_chunks(
        c, "fieldsync.rows",
        "SELECT ctid FROM fieldsync.rows WHERE deleted AND changed_at < now() - $1::interval "
        "LIMIT " + std::to_string(opts.chunk_rows),
        pg_params(interval_literal(opts.tombstones)));
    if (!t) co_return t.error();
    report.tombstones_removed = *t;
    co_return pg_outcome<void>{};
  };
  auto done = co_await work();
  auto unlocked = co_await c.async_query("SELECT pg_advisory_unlock(" + std::string(compaction_lock_key) + ")");
  if (!done) co_return done.error();
  if (!unlocked) co_return unlocked.error();
  co_return report;
}

std::shared_ptr<log_compactor> log_compactor::create(asio::any_io_executor ex,
                                                     std::shared_ptr<pg_pool> storage,
                                                     compaction_options opts) {
  return std::shared_ptr<log_compactor>(new log_compactor(std::move(ex), std::move(storage), opts));
}

log_compactor::log_compactor(asio::any_io_executor ex, std::shared_ptr<pg_pool> storage,
                             compaction_options opts)
    : ex_(std::move(ex)),
      storage_(std::move(storage)),
      opts_(opts),
      timer_(ex_) {}

void log_compactor::start() { spawn_logged(ex_, run(), "log compactor"); }

void log_compactor::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> log_compactor::run() {
  auto self = shared_from_this();
  while (!stopped_) {
    timer_.expires_after(opts_.interval);
    auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopped_) co_return;
    auto r = co_await async_compact_log(*storage_, opts_);
    if (!r) {
      // 42P01: no change log yet.
      if (r.error().sqlstate != sqlstate::undefined_table) spdlog::warn("log compaction: {}", r.error().to_string());
    } else if (r->changes_removed || r->tombstones_removed) {
      spdlog::info("log compaction: {} changes and {} tombstones past retention removed",
                   r->changes_removed, r->tombstones_removed);
    }
  }
}

}  // namespace fieldsync::storage
