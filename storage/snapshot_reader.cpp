#include "storage/snapshot_reader.hpp"
#include "storage/sqlstate.hpp"

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

std::vector<snapshot_row> snapshot_rows_of(const pg_result& r) {
  std::vector<snapshot_row> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    snapshot_row row;
    row.key = std::string(r.value(i, 0));
    row.version = lsn::parse(r.value(i, 1)).value_or(lsn());
    row.row_json = std::string(r.value(i, 2));
    out.push_back(std::move(row));
  }
  return out;
}

asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_begin_read(
    pg_connection& conn, const std::string& collection) {
  // The lock comes before the snapshot, which the first query takes: a reader that waited
  // for an epoch reset to commit reads the new epoch, and every reader takes the log's
  // tables in the one order that cannot deadlock with the reset (storage/log_state.hpp).
  auto begun = co_await conn.async_exec(
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
      "LOCK TABLE fieldsync.state IN ACCESS SHARE MODE");
  if (!begun) {
    co_await async_end_read(conn, false);
    if (begun.error().sqlstate == sqlstate::undefined_table) co_return std::optional<log_bounds>();  // no log yet
    co_return begun.error();
  }
  auto bounds = co_await async_log_bounds(conn, collection);
  if (!bounds || !*bounds) co_await async_end_read(conn, bounds.has_value());
  co_return bounds;
}

asio::awaitable<void> async_end_read(pg_connection& conn, bool ok) {
  // No co_await inside a condition: GCC 12 miscompiles awaits in short-circuit operands.
  if (ok) {
    auto committed = co_await conn.async_exec("COMMIT");
    if (committed) co_return;
  }
  auto rolled_back = co_await conn.async_exec("ROLLBACK");
  (void)rolled_back;
}

snapshot_stream::snapshot_stream(pg_connection& conn, std::string collection, std::string where_sql,
                                 std::vector<std::optional<std::string>> params)
    : conn_(conn),
      collection_(std::move(collection)),
      where_sql_(std::move(where_sql)),
      params_(std::move(params)) {}

asio::awaitable<pg_outcome<std::optional<log_bounds>>> snapshot_stream::async_begin() {
  auto bounds = co_await async_begin_read(conn_, collection_);
  if (!bounds || !*bounds) co_return bounds;
  std::string sql =
      "DECLARE fieldsync_snapshot NO SCROLL CURSOR FOR "
      "SELECT key, lsn::text, \"row\"::text FROM fieldsync.rows WHERE collection = $1 AND NOT "
      "deleted";
  if (!where_sql_.empty()) sql += " AND " + where_sql_;
  pg_params params(collection_);
  for (const auto& p : params_) params.add(p);
  auto declared = co_await conn_.async_query(sql, params);
  if (!declared) {
    co_await async_end_read(conn_, false);
    co_return declared.error();
  }
  co_return bounds;
}

asio::awaitable<pg_outcome<std::vector<snapshot_row>>> snapshot_stream::async_next(
    std::size_t limit) {
  auto r = co_await conn_.async_exec("FETCH FORWARD " + std::to_string(limit) +
                                     " FROM fieldsync_snapshot");
  if (!r) co_return r.error();
  co_return snapshot_rows_of(*r);
}

asio::awaitable<void> snapshot_stream::async_end(bool ok) { co_await async_end_read(conn_, ok); }

}  // namespace fieldsync::storage
