#include "storage/state_digest.hpp"

#include <cstdint>

namespace fieldsync::storage {

namespace asio = boost::asio;

asio::awaitable<pg_outcome<protocol::row_digest>> async_state_digest(
    pg_connection& conn, const state_digest_request& req) {
  // (lsn, idx) > (C, index): a whole-transaction cursor has index 2^32-1, above every real
  // index, so the whole transaction at C counts as seen. A row whose version is below C's
  // LSN cannot have a change after C, which spares the probe for almost every row.
  std::string sql =
      "DECLARE fieldsync_state_digest NO SCROLL CURSOR FOR "
      "SELECT s.key, s.\"row\"::text FROM ("
      " SELECT r.key, r.\"row\" FROM fieldsync.rows r"
      "  WHERE r.collection = $1 AND NOT r.deleted"
      "    AND (r.lsn < $2::pg_lsn OR NOT EXISTS (SELECT 1 FROM fieldsync.changes n"
      "         WHERE n.collection = $1 AND n.key = r.key"
      "           AND (n.lsn, n.idx::bigint) > ($2::pg_lsn, $3::bigint)))"
      " UNION ALL"
      " SELECT f.key, f.\"row\""
      " FROM (SELECT DISTINCT ON (c.key) c.key, c.op,"
      "         CASE WHEN c.op = 'u' THEN coalesce(c.old_row, c.\"row\") ELSE c.\"row\" END AS \"row\""
      "       FROM fieldsync.changes c"
      "       WHERE c.collection = $1 AND (c.lsn, c.idx::bigint) > ($2::pg_lsn, $3::bigint)"
      "       ORDER BY c.key, c.lsn, c.idx) f"
      " WHERE f.op <> 'i') s";
  if (!req.where_sql.empty()) sql += " WHERE " + req.where_sql;
  pg_params params(req.collection, req.at.position.to_string(),
                   static_cast<std::int64_t>(req.at.index));
  for (const auto& p : req.params) params.add(p);
  auto declared = co_await conn.async_query(sql, params);
  if (!declared) co_return declared.error();

  protocol::row_digest digest;
  const std::string fetch =
      "FETCH FORWARD " + std::to_string(req.batch_rows) + " FROM fieldsync_state_digest";
  for (;;) {
    auto batch = co_await conn.async_exec(fetch);
    if (!batch) co_return batch.error();
    for (int i = 0; i < batch->rows(); ++i) {
      auto canonical = protocol::canonical_row_text(batch->value(i, 1));
      if (!canonical) {
        co_return pg_error{make_error_code(pg_errc::unexpected_result), {},
                           "row " + std::string(batch->value(i, 0)) + " of " + req.collection +
                               " is not JSON"};
      }
      digest.add(protocol::row_hash(batch->value(i, 0), *canonical));
    }
    if (static_cast<std::size_t>(batch->rows()) < req.batch_rows) break;
  }
  auto closed = co_await conn.async_exec("CLOSE fieldsync_state_digest");
  if (!closed) co_return closed.error();
  co_return digest;
}

}  // namespace fieldsync::storage
