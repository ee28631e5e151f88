#include "storage/pull_reader.hpp"
#include "storage/malformed_array.hpp"

#include "protocol/pg_array_text.hpp"

#include <charconv>

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

namespace {

std::int64_t to_int64(std::string_view text) {
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

constexpr std::string_view iso_utc =
    "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

std::string iso(std::string_view column) {
  std::string out(iso_utc);
  out.replace(out.find("%s"), 2, column);
  return out;
}

}  // namespace

asio::awaitable<pg_outcome<std::vector<snapshot_row>>> async_snapshot_page_as_of(
    pg_connection& conn, const snapshot_page_request& req) {
  // Rows unchanged since H come from `rows`; rows changed after H are rebuilt from their
  // first change after H. "Changed after H" means a change after H, not a version after H:
  // rows copied by an initial load carry the WAL position of the copy, which may be ahead
  // of the log's high-water mark while no transaction has followed. Both parts come out in
  // key order, so the planner merges two ordered scans and stops at the limit.
  std::string sql =
      "SELECT s.key, s.version::text, s.\"row\"::text FROM ("
      " SELECT r.key, r.lsn AS version, r.\"row\" FROM fieldsync.rows r"
      "  WHERE r.collection = $1 AND NOT r.deleted AND ($3::text IS NULL OR r.key > $3::text)"
      "    AND (r.lsn <= $2::pg_lsn OR NOT EXISTS (SELECT 1 FROM fieldsync.changes n"
      "         WHERE n.collection = $1 AND n.key = r.key AND n.lsn > $2::pg_lsn))"
      " UNION ALL"
      " SELECT f.key,"
      "  coalesce((SELECT max(p.lsn) FROM fieldsync.changes p WHERE p.collection = $1"
      "            AND p.key = f.key AND p.lsn <= $2::pg_lsn), '0/0'::pg_lsn),"
      "  f.\"row\""
      " FROM (SELECT DISTINCT ON (c.key) c.key, c.op,"
      "         CASE WHEN c.op = 'u' THEN coalesce(c.old_row, c.\"row\") ELSE c.\"row\" END AS "
      "\"row\""
      "       FROM fieldsync.changes c"
      "       WHERE c.collection = $1 AND c.lsn > $2::pg_lsn"
      "         AND ($3::text IS NULL OR c.key > $3::text)"
      "       ORDER BY c.key, c.lsn, c.idx) f"
      " WHERE f.op <> 'i') s";
  if (!req.where_sql.empty()) sql += " WHERE " + req.where_sql;
  sql += " ORDER BY s.key LIMIT " + std::to_string(req.limit);
  if (req.skip > 0) sql += " OFFSET " + std::to_string(req.skip);
  pg_params params(req.collection, req.as_of.to_string(), req.after_key);
  for (const auto& p : req.params) params.add(p);
  auto r = co_await conn.async_query(sql, params);
  if (!r) co_return r.error();
  co_return snapshot_rows_of(*r);
}

asio::awaitable<pg_outcome<row_history>> async_row_history(pg_connection& conn,
                                                           const std::string& collection,
                                                           const std::string& key,
                                                           std::size_t limit) {
  row_history h;
  auto cur = co_await conn.async_query(
      "SELECT lsn::text, deleted, \"row\"::text, " + iso("changed_at") +
          ", client_id, mutation_id FROM fieldsync.rows WHERE collection = $1 AND key = $2",
      pg_params(collection, key));
  if (!cur) co_return cur.error();
  if (cur->rows() > 0) {
    row_current c;
    c.version = lsn::parse(cur->value(0, 0)).value_or(lsn());
    c.deleted = cur->value(0, 1) == "t";
    c.row_json = std::string(cur->value(0, 2));
    c.changed_at = std::string(cur->value(0, 3));
    if (!cur->is_null(0, 4)) c.client_id = std::string(cur->value(0, 4));
    if (!cur->is_null(0, 5)) c.mutation_id = to_int64(cur->value(0, 5));
    h.current = std::move(c);
  }
  auto r = co_await conn.async_query(
      "SELECT lsn::text, idx, op, \"row\"::text, changed::text, " + iso("commit_time") +
          ", client_id, mutation_id, client_ts FROM fieldsync.changes"
          " WHERE collection = $1 AND key = $2 ORDER BY lsn DESC, idx DESC LIMIT " +
          std::to_string(limit + 1),
      pg_params(collection, key));
  if (!r) co_return r.error();
  for (int i = 0; i < r->rows(); ++i) {
    if (h.versions.size() == limit) {
      h.more = true;
      break;
    }
    row_version v;
    v.version = lsn::parse(r->value(i, 0)).value_or(lsn());
    v.idx = static_cast<std::uint32_t>(to_int64(r->value(i, 1)));
    v.op = static_cast<protocol::change_op>(r->value(i, 2).empty() ? 'i' : r->value(i, 2)[0]);
    v.row_json = std::string(r->value(i, 3));
    if (!r->is_null(i, 4)) {
      auto changed = protocol::array_text_to_strings(r->value(i, 4));
      if (!changed) co_return malformed_array("changes.changed", r->value(i, 4));
      v.changed = std::move(*changed);
    }
    v.commit_time = std::string(r->value(i, 5));
    if (!r->is_null(i, 6)) {
      protocol::change_origin o;
      o.client_id = std::string(r->value(i, 6));
      o.mutation_id = r->is_null(i, 7) ? 0 : to_int64(r->value(i, 7));
      o.client_ts = r->is_null(i, 8) ? std::string() : std::string(r->value(i, 8));
      v.origin = std::move(o);
    }
    h.versions.push_back(std::move(v));
  }
  co_return h;
}

}  // namespace fieldsync::storage
