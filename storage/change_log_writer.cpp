#include "storage/change_log_writer.hpp"

#include "protocol/json_parse.hpp"
#include "protocol/civil_calendar.hpp"
#include "storage/copy_text.hpp"

#include <algorithm>
#include <cstdio>

namespace fieldsync::storage {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::change_op;
using protocol::lsn;

namespace {

constexpr std::string_view copy_changes_sql =
    "COPY fieldsync.changes (lsn, idx, collection, key, op, \"row\", old_row, changed, "
    "commit_time, xid, client_id, mutation_id, client_ts) FROM STDIN";

// A COPY buffer is sent once it holds this much; bounds the writer's own memory.
constexpr std::size_t copy_flush_bytes = 4 << 20;

// "2026-11-25 11:04:51.123456+00" from microseconds since 2000-01-01 UTC.
std::string format_pg_timestamp(protocol::pg_timestamp ts) {
  const std::int64_t us = ts + protocol::pg_epoch_unix_seconds * 1'000'000;
  const std::int64_t secs = protocol::floor_div(us, 1'000'000);
  const auto frac = static_cast<int>(us - secs * 1'000'000);
  const std::int64_t days = protocol::floor_div(secs, 86400);
  const auto sod = static_cast<int>(secs - days * 86400);
  const auto d = protocol::civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02d:%02d:%02d.%06d+00",
                static_cast<long long>(d.year), d.month, d.day, sod / 3600, sod / 60 % 60,
                sod % 60, frac);
  return buf;
}

pg_error fenced(lsn stored, lsn expected) {
  return pg_error{make_error_code(pg_errc::fenced), {},
                  "the change log's resume position is " + stored.to_string() + ", not " +
                      expected.to_string() + ": another node wrote to it"};
}

}  // namespace

change_log_writer::change_log_writer(pg_connection& conn, std::int64_t epoch, lsn resume, lsn high)
    : conn_(conn),
      epoch_(epoch),
      resume_(resume),
      high_(high),
      batch_high_(high),
      durable_resume_(resume) {}

asio::awaitable<pg_outcome<void>> change_log_writer::async_begin() {
  // The upsert of `rows` sorts the batch's changes (up to batch_max_bytes of rows): at the
  // default work_mem (4 MB) that sort went to disk and took half of the upsert's time.
  // JIT compilation only slows these short statements down.
  auto begin = co_await conn_.async_exec("BEGIN; SET LOCAL work_mem = '64MB'; SET LOCAL jit = off");
  if (!begin) co_return begin.error();
  open_ = true;
  auto state = co_await conn_.async_query(
      "SELECT resume_lsn::text, epoch FROM fieldsync.state FOR UPDATE");
  if (!state) co_return state.error();
  if (state->rows() != 1) co_return fenced(lsn(), resume_);
  auto stored = lsn::parse(state->value(0, 0)).value_or(lsn());
  if (stored != resume_ || std::string(state->value(0, 1)) != std::to_string(epoch_)) {
    co_return fenced(stored, resume_);
  }
  batch_high_ = high_;
  batch_changes_ = 0;
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<void>> change_log_writer::flush_copy() {
  if (copy_buffer_.empty()) co_return pg_outcome<void>{};
  // Sent from the buffer, which keeps its capacity for the next rows.
  auto copied = co_await conn_.async_copy_in(copy_changes_sql, std::string_view(copy_buffer_));
  copy_buffer_.clear();
  if (!copied) co_return copied.error();
  co_return pg_outcome<void>{};
}

// The latest version of each row changed in (high_, upto] becomes its current row.
asio::awaitable<pg_outcome<void>> change_log_writer::upsert_rows(lsn upto) {
  auto r = co_await conn_.async_query(
      "INSERT INTO fieldsync.rows AS r (collection, key, lsn, deleted, \"row\", changed_at, "
      "client_id, mutation_id) "
      "SELECT DISTINCT ON (collection, key) collection, key, lsn, op = 'd', \"row\", "
      "commit_time, client_id, mutation_id FROM fieldsync.changes "
      "WHERE lsn > $1::pg_lsn AND lsn <= $2::pg_lsn "
      "ORDER BY collection, key, lsn DESC, idx DESC "
      "ON CONFLICT (collection, key) DO UPDATE SET lsn = excluded.lsn, "
      "deleted = excluded.deleted, \"row\" = excluded.\"row\", "
      "changed_at = excluded.changed_at, client_id = excluded.client_id, "
      "mutation_id = excluded.mutation_id",
      pg_params(high_.to_string(), upto.to_string()));
  if (!r) co_return r.error();
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<void>> change_log_writer::fill_missing(protocol::row_change& change) {
  // The previous version: appended earlier in this batch, else the current row.
  auto r = co_await conn_.async_query(
      "SELECT \"row\"::text FROM ("
      "  SELECT \"row\", 1 AS pref, lsn, idx FROM fieldsync.changes"
      "   WHERE collection = $1 AND key = $2 AND lsn > $3::pg_lsn"
      "  UNION ALL"
      "  SELECT \"row\", 0, lsn, 0 FROM fieldsync.rows WHERE collection = $1 AND key = $2"
      ") v ORDER BY pref DESC, lsn DESC, idx DESC LIMIT 1",
      pg_params(change.collection, change.key, high_.to_string()));
  if (!r) co_return r.error();
  if (r->rows() == 1) {
    auto previous = protocol::parse_json_exact(r->value(0, 0), protocol::max_stored_row_depth);
    if (previous && previous->is_object()) {
      std::vector<std::string> still_missing;
      for (const auto& column : change.missing) {
        if (const auto* v = previous->get_object().if_contains(column)) {
          change.row[column] = *v;
        } else {
          still_missing.push_back(column);
        }
      }
      change.missing = std::move(still_missing);
    }
  }
  // Whatever stays missing stays absent from the row: an unknown value is never NULL.
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<void>> change_log_writer::expand_truncate(
    const protocol::transaction& txn, const protocol::row_change& change) {
  if (auto f = co_await flush_copy(); !f) co_return f.error();
  // The rows table must include what this batch appended before the truncate.
  if (batch_high_ > high_) {
    if (auto u = co_await upsert_rows(batch_high_); !u) co_return u.error();
  }
  pg_params params(txn.commit_lsn.to_string(), static_cast<std::int64_t>(next_idx_),
                   format_pg_timestamp(txn.commit_time), static_cast<std::int64_t>(txn.xid),
                   change.collection);
  if (change.origin) {
    params.add(change.origin->client_id).add(change.origin->mutation_id).add(change.origin->client_ts);
  } else {
    params.add(std::nullopt).add(std::nullopt).add(std::nullopt);
  }
  auto r = co_await conn_.async_query(
      "INSERT INTO fieldsync.changes (lsn, idx, collection, key, op, \"row\", commit_time, xid, "
      "client_id, mutation_id, client_ts) "
      "SELECT $1::pg_lsn, $2::int + (row_number() OVER (ORDER BY key))::int - 1, collection, "
      "key, 'd', \"row\", $3::timestamptz, $4::bigint, $6, $7::bigint, $8 "
      "FROM fieldsync.rows WHERE collection = $5 AND NOT deleted",
      params);
  if (!r) co_return r.error();
  auto n = r->affected_rows();
  next_idx_ += static_cast<std::uint32_t>(n);
  batch_changes_ += static_cast<std::uint64_t>(n);
  co_return pg_outcome<void>{};
}

std::string_view change_log_writer::serialized(const json::object& row) {
  // Into one reused buffer: a string per row was a good part of the writer's allocations.
  json_buffer_.clear();
  serializer_.reset(&row);
  char piece[4096];
  while (!serializer_.done()) json_buffer_.append(serializer_.read(piece, sizeof piece));
  return json_buffer_;
}

asio::awaitable<pg_outcome<void>> change_log_writer::async_append(
    const protocol::transaction& txn, std::vector<protocol::row_change>& changes) {
  if (txn.commit_lsn != current_txn_) {
    current_txn_ = txn.commit_lsn;
    next_idx_ = 0;
  }
  if (txn.commit_lsn > batch_high_) batch_high_ = txn.commit_lsn;
  const std::string lsn_text = txn.commit_lsn.to_string();
  const std::string time_text = format_pg_timestamp(txn.commit_time);
  const std::string xid_text = std::to_string(txn.xid);
  std::vector<std::string_view> changed;
  for (auto& c : changes) {
    if (c.op == change_op::truncate) {
      if (auto t = co_await expand_truncate(txn, c); !t) co_return t.error();
      continue;
    }
    if (!c.missing.empty()) {
      if (auto f = co_await flush_copy(); !f) co_return f.error();
      if (auto f = co_await fill_missing(c); !f) co_return f.error();
    }
    copy_row row(copy_buffer_);
    row.raw(lsn_text).integer(next_idx_++).text(c.collection).text(c.key);
    row.raw(std::string_view(reinterpret_cast<const char*>(&c.op), 1));
    row.text(serialized(c.row));
    if (c.old_row) row.text(serialized(*c.old_row));
    else row.null();
    if (c.op == change_op::update) {
      changed.assign(c.changed.begin(), c.changed.end());
      row.text_array(changed);
    } else {
      row.null();
    }
    row.raw(time_text).raw(xid_text);
    if (c.origin) {
      row.text(c.origin->client_id).integer(c.origin->mutation_id).text(c.origin->client_ts);
    } else {
      row.null().null().null();
    }
    row.end();
    ++batch_changes_;
    if (copy_buffer_.size() >= copy_flush_bytes) {
      if (auto f = co_await flush_copy(); !f) co_return f.error();
    }
  }
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<void>> change_log_writer::async_commit(lsn resume, commit_mode mode) {
  if (auto f = co_await flush_copy(); !f) co_return f.error();
  auto t0 = std::chrono::steady_clock::now();
  if (batch_high_ > high_) {
    if (auto u = co_await upsert_rows(batch_high_); !u) co_return u.error();
  }
  upsert_time_ = std::chrono::steady_clock::now() - t0;
  const bool deferred = mode == commit_mode::deferred;
  // Positions are ours (formatted LSNs and an integer), never client text.
  std::string sql = deferred ? "SET LOCAL synchronous_commit = off;" : "";
  sql += "UPDATE fieldsync.state SET resume_lsn = '" + resume.to_string() + "', high_lsn = '" +
         batch_high_.to_string() +
         "', updated_at = now();"
         "UPDATE fieldsync.collections SET snapshot = NULL, snapshot_until = NULL "
         "WHERE snapshot_until < '" +
         resume.to_string() + "';";
  // A durable commit notifies with itself; a deferred one once it is on disk (settle).
  if (!deferred && batch_high_ > notified_high_) sql += notify_sql(batch_high_);
  sql += "COMMIT";
  // After the COMMIT, in the same round trip: where the WAL ends now (past this commit's
  // record) and how much of it is on disk.
  if (deferred)
    sql += ";SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text";
  auto r = co_await conn_.async_exec(sql);
  if (!r) co_return r.error();
  open_ = false;
  resume_ = resume;
  high_ = batch_high_;
  if (!deferred) {
    // On disk, and with it every deferred commit before it.
    unflushed_.clear();
    durable_resume_ = resume_;
    notified_high_ = high_;
    co_return pg_outcome<void>{};
  }
  auto wal_end = r->rows() == 1 ? lsn::parse(r->value(0, 0)) : std::nullopt;
  auto flushed = r->rows() == 1 ? lsn::parse(r->value(0, 1)) : std::nullopt;
  if (!wal_end || !flushed) {
    co_return pg_error{make_error_code(pg_errc::unexpected_result),
                       {},
                       "the storage database did not say where its WAL is"};
  }
  unflushed_.push_back({*wal_end, resume_, high_});
  co_return co_await settle(*flushed);
}

asio::awaitable<pg_outcome<void>> change_log_writer::settle(lsn flushed) {
  lsn durable_high = notified_high_;
  while (!unflushed_.empty() && unflushed_.front().wal_end <= flushed) {
    durable_resume_ = unflushed_.front().resume;
    durable_high = std::max(durable_high, unflushed_.front().high);
    unflushed_.pop_front();
  }
  if (durable_high <= notified_high_) co_return pg_outcome<void>{};
  // A transaction of its own (NOTIFY is sent at commit), which need not wait for the disk.
  auto n = co_await conn_.async_exec("BEGIN; SET LOCAL synchronous_commit = off;" +
                                     notify_sql(durable_high) + "COMMIT");
  if (!n) co_return n.error();
  notified_high_ = durable_high;
  co_return pg_outcome<void>{};
}

std::string change_log_writer::notify_sql(lsn high) const {
  return "SELECT pg_notify('fieldsync_log', '" + std::to_string(epoch_) + " " + high.to_string() +
         "');";
}

asio::awaitable<void> change_log_writer::async_rollback() {
  copy_buffer_.clear();
  batch_high_ = high_;
  current_txn_ = lsn();
  if (!open_) co_return;
  open_ = false;
  (void)co_await conn_.async_exec("ROLLBACK");
}

}  // namespace fieldsync::storage
