#pragma once
// Consistent reads of a collection's live rows from the change log:
//
//  - async_begin_read / async_end_read: a REPEATABLE READ READ ONLY transaction and the
//    log's bounds in it, so that what is read next belongs to that instant (and a
//    concurrent compaction cannot take changes from under it). It locks fieldsync.state
//    before its snapshot, as every multi-table reader must (storage/log_state.hpp: the
//    lock order that cannot deadlock with an epoch reset; an instant inside one epoch);
//  - snapshot_stream: a whole snapshot in one pass, for WebSocket subscriptions without a
//    cursor and for answers streamed in one piece (NDJSON): a server-side cursor over the
//    live rows in such a transaction, fetched in batches, in no particular order. One scan
//    whatever the size (keyset pages would walk the key index once per page), and memory
//    stays at one batch. It continues from the bounds' snapshot position.
//
// Rows come back as the stored JSON text, ready to embed in an answer.
//
// Concurrency contract: free functions and a reader on a connection the caller owns,
// holding it in a transaction from begin to end; one coroutine drives it.

#include "storage/change_log_reader.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

struct snapshot_row {
  std::string key;
  protocol::lsn version;
  std::string row_json;
};

// The rows of a result whose columns are key, version (pg_lsn text) and row (JSON text).
std::vector<snapshot_row> snapshot_rows_of(const pg_result& r);

// BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, LOCK TABLE fieldsync.state IN ACCESS
// SHARE MODE (waits while an epoch reset holds it) and the log's bounds for `collection` in
// that snapshot. When there is no log yet (nullopt) or the read fails, the transaction is
// already ended; otherwise end it with async_end_read.
boost::asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_begin_read(
    pg_connection& conn, const std::string& collection);
// COMMIT after success (`ok`), ROLLBACK after a failed statement or a failed COMMIT, so
// that the connection leaves the transaction either way.
boost::asio::awaitable<void> async_end_read(pg_connection& conn, bool ok = true);

class snapshot_stream {
 public:
  // `where_sql` is a boolean SQL expression over "row" (compiled filters ANDed; empty:
  // every row) whose parameters are `params`, numbered from $2: compile with
  // sql_params::offset = 1.
  snapshot_stream(pg_connection& conn, std::string collection, std::string where_sql,
                  std::vector<std::optional<std::string>> params);

  // Opens the transaction and the cursor; nullopt when there is no log yet.
  boost::asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_begin();
  // The next rows, at most `limit`; empty when done.
  boost::asio::awaitable<pg_outcome<std::vector<snapshot_row>>> async_next(std::size_t limit);
  // Ends the transaction (COMMIT, or ROLLBACK after a failure).
  boost::asio::awaitable<void> async_end(bool ok = true);

 private:
  pg_connection& conn_;
  std::string collection_;
  std::string where_sql_;
  std::vector<std::optional<std::string>> params_;
};

}  // namespace fieldsync::storage
