#include "storage/snapshot_reader.hpp"

namespace fieldsync::storage {

namespace asio = boost::asio;

snapshot_reader::snapshot_reader(pg_connection& conn, std::string collection, std::string where_sql,
                                 std::vector<std::optional<std::string>> params)
    : conn_(conn),
      collection_(std::move(collection)),
      where_sql_(std::move(where_sql)),
      params_(std::move(params)) {}

asio::awaitable<pg_outcome<std::optional<log_bounds>>> snapshot_reader::async_begin() {
  auto begun = co_await conn_.async_exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begun) co_return begun.error();
  open_ = true;
  co_return co_await async_log_bounds(conn_, collection_);
}

asio::awaitable<pg_outcome<std::vector<snapshot_row>>> snapshot_reader::async_next(std::size_t limit) {
  // Keyset paging on the primary key of fieldsync.rows: each page is one index range.
  std::string sql =
      "SELECT key, lsn::text, \"row\"::text FROM fieldsync.rows "
      "WHERE collection = $1 AND NOT deleted AND ($2::text IS NULL OR key > $2::text)";
  if (!where_sql_.empty()) sql += " AND " + where_sql_;
  sql += " ORDER BY key LIMIT " + std::to_string(limit);
  pg_params params(collection_, last_key_);
  for (const auto& p : params_) params.add(p);
  auto r = co_await conn_.async_query(sql, params);
  if (!r) co_return r.error();
  std::vector<snapshot_row> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    snapshot_row row;
    row.key = std::string(r->value(i, 0));
    row.version = protocol::lsn::parse(r->value(i, 1)).value_or(protocol::lsn());
    row.row_json = std::string(r->value(i, 2));
    out.push_back(std::move(row));
  }
  if (!out.empty()) last_key_ = out.back().key;
  co_return out;
}

asio::awaitable<pg_outcome<void>> snapshot_reader::async_end() {
  if (!open_) co_return pg_outcome<void>{};
  open_ = false;
  auto r = co_await conn_.async_exec("COMMIT");
  if (!r) co_return r.error();
  co_return pg_outcome<void>{};
}

}  // namespace fieldsync::storage
