#include "storage/change_log_reader.hpp"
#include "storage/sqlstate.hpp"
#include "storage/malformed_array.hpp"

#include "protocol/json_parse.hpp"
#include "protocol/pg_array_text.hpp"

#include <charconv>

namespace fieldsync::storage {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::lsn;

namespace {

// Rows as the writer stored them; exactly (Boost.JSON's own parser rounds some doubles).
json::object parse_object(std::string_view text) {
  auto v = protocol::parse_json_exact(text, protocol::max_stored_row_depth);
  if (!v || !v->is_object()) return {};
  return std::move(v->as_object());
}

// Microseconds since 2000-01-01 from the epoch seconds PostgreSQL computes for us.
protocol::pg_timestamp from_epoch_micros(std::string_view text) {
  std::int64_t us = 0;
  std::from_chars(text.data(), text.data() + text.size(), us);
  return us - protocol::pg_epoch_unix_seconds * 1'000'000;
}

}  // namespace

std::string_view to_string(cursor_verdict v) noexcept {
  switch (v) {
    case cursor_verdict::ok: return "ok";
    case cursor_verdict::other_epoch: return "other_epoch";
    case cursor_verdict::before_horizon: return "before_horizon";
    case cursor_verdict::before_load: return "before_load";
    case cursor_verdict::ahead: return "ahead";
    case cursor_verdict::no_log: return "no_log";
    case cursor_verdict::not_loaded: return "not_loaded";
    case cursor_verdict::failed: return "failed";
  }
  return "unknown";
}

asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_log_bounds(pg_connection& conn,
                                                                       const std::string& collection) {
  auto r = co_await conn.async_query(
      "SELECT s.epoch, s.high_lsn::text, s.horizon_lsn::text, c.loaded_lsn::text, c.failure "
      "FROM fieldsync.state s LEFT JOIN fieldsync.collections c "
      "  ON c.name = $1 AND c.epoch = s.epoch",
      pg_params(collection));
  if (!r) {
    if (r.error().sqlstate == sqlstate::undefined_table) co_return std::optional<log_bounds>();  // no log yet
    co_return r.error();
  }
  if (r->rows() == 0) co_return std::optional<log_bounds>();
  log_bounds b;
  b.epoch = std::stoll(std::string(r->value(0, 0)));
  b.high = lsn::parse(r->value(0, 1)).value_or(lsn());
  b.horizon = lsn::parse(r->value(0, 2)).value_or(lsn());
  if (!r->is_null(0, 4)) b.failure = std::string(r->value(0, 4));
  b.loaded = !r->is_null(0, 3) && b.failure.empty();
  if (b.loaded) b.loaded_lsn = lsn::parse(r->value(0, 3)).value_or(lsn());
  co_return std::optional<log_bounds>(b);
}

cursor_verdict check_cursor(const log_bounds& b, const protocol::cursor& c) noexcept {
  if (c.epoch != b.epoch) return cursor_verdict::other_epoch;
  if (!b.failure.empty()) return cursor_verdict::failed;
  if (!b.loaded) return cursor_verdict::not_loaded;
  if (c.position > snapshot_position(b)) return cursor_verdict::ahead;
  // Changes after the horizon are all present; the cursor must not need older ones.
  if (c.position < b.horizon) return cursor_verdict::before_horizon;
  if (c.position < b.loaded_lsn) return cursor_verdict::before_load;
  return cursor_verdict::ok;
}

namespace {

// The changes of async_read_changes: $1, $2 the cursor, $3 upto, $4 the collection if any.
// (lsn, idx) > (after.position, after.index): a whole-transaction cursor has index 2^32-1,
// above every real index, so "after" skips the whole transaction. Qualified names
// throughout: a bare "lsn" in ORDER BY would name an output column lsn::text and sort the
// LSNs as strings ("4/102A20" before "4/93820").
std::string changes_select(bool one_collection, std::size_t limit) {
  std::string sql =
      "SELECT c.lsn, c.idx, c.collection, c.key, c.op, c.\"row\"::text AS row_text, "
      "c.old_row::text AS old_row_text, c.changed::text AS changed_text, "
      "(extract(epoch FROM c.commit_time) * 1000000)::bigint AS commit_us, "
      "c.xid, c.client_id, c.mutation_id, c.client_ts "
      "FROM fieldsync.changes c WHERE (c.lsn, c.idx::bigint) > ($1::pg_lsn, $2::bigint) "
      "AND c.lsn <= $3::pg_lsn";
  if (one_collection) sql += " AND c.collection = $4";
  sql += " ORDER BY c.lsn, c.idx LIMIT " + std::to_string(limit);
  return sql;
}

constexpr std::string_view change_columns =
    "x.lsn::text, x.idx, x.collection, x.key, x.op, x.row_text, x.old_row_text, x.changed_text, "
    "x.commit_us, x.xid, x.client_id, x.mutation_id, x.client_ts";

pg_params changes_params(const protocol::cursor& after, lsn upto, const std::string* collection) {
  pg_params params(after.position.to_string(), static_cast<std::int64_t>(after.index),
                   upto.to_string());
  if (collection) params.add(*collection);
  return params;
}

// The rows of a result whose columns from `first` on are change_columns' (NULLs: no row).
pg_outcome<std::vector<log_change>> log_changes_of(const pg_result& r, int first) {
  std::vector<log_change> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    if (r.is_null(i, first)) continue;
    auto col = [&](int k) { return r.value(i, first + k); };
    auto null = [&](int k) { return r.is_null(i, first + k); };
    log_change c;
    c.position = lsn::parse(col(0)).value_or(lsn());
    c.idx = static_cast<std::uint32_t>(std::stoul(std::string(col(1))));
    c.change.collection = std::string(col(2));
    c.change.key = std::string(col(3));
    char op = col(4).empty() ? 'i' : col(4)[0];
    c.change.op = static_cast<protocol::change_op>(op);
    c.change.row = parse_object(col(5));
    if (!null(6)) c.change.old_row = parse_object(col(6));
    if (!null(7)) {
      auto changed = protocol::array_text_to_strings(col(7));
      if (!changed) return malformed_array("changes.changed", col(7));
      c.change.changed = std::move(*changed);
    }
    c.commit_time = from_epoch_micros(col(8));
    c.xid = static_cast<std::uint32_t>(std::stoul(std::string(col(9))));
    if (!null(10)) {
      protocol::change_origin o;
      o.client_id = std::string(col(10));
      o.mutation_id = null(11) ? 0 : std::stoll(std::string(col(11)));
      o.client_ts = null(12) ? std::string() : std::string(col(12));
      c.change.origin = std::move(o);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

asio::awaitable<pg_outcome<std::vector<log_change>>> async_read_changes(
    pg_connection& conn, const protocol::cursor& after, lsn upto, std::size_t limit,
    const std::string* collection) {
  const std::string sql = "SELECT " + std::string(change_columns) + " FROM (" +
                          changes_select(collection != nullptr, limit) +
                          ") x ORDER BY x.lsn, x.idx";
  auto r = co_await conn.async_query(sql, changes_params(after, upto, collection));
  if (!r) co_return r.error();
  co_return log_changes_of(*r, 0);
}

asio::awaitable<pg_outcome<std::optional<epoch_changes>>> async_read_changes_in_epoch(
    pg_connection& conn, const protocol::cursor& after, lsn upto, std::size_t limit,
    const std::string* collection) {
  // The state comes first in FROM, so the statement locks it before `changes`: the order
  // of every reader (storage/log_state.hpp). One row with NULL changes when there are none
  // (or the epoch is another), so the epoch and the high-water mark are always known.
  auto params = changes_params(after, upto, collection);
  params.add(after.epoch);
  const std::string epoch_param = collection ? "$5" : "$4";
  const std::string sql = "SELECT s.epoch, s.high_lsn::text, " + std::string(change_columns) +
                          " FROM fieldsync.state s LEFT JOIN LATERAL (" +
                          changes_select(collection != nullptr, limit) +
                          ") x ON s.epoch = " + epoch_param + "::bigint ORDER BY x.lsn, x.idx";
  auto r = co_await conn.async_query(sql, params);
  if (!r) {
    if (r.error().sqlstate == sqlstate::undefined_table) co_return std::optional<epoch_changes>();
    co_return r.error();
  }
  if (r->rows() == 0 || std::stoll(std::string(r->value(0, 0))) != after.epoch) {
    co_return std::optional<epoch_changes>();
  }
  auto changes = log_changes_of(*r, 2);
  if (!changes) co_return changes.error();
  co_return epoch_changes{std::move(*changes), lsn::parse(r->value(0, 1)).value_or(lsn())};
}

}  // namespace fieldsync::storage
