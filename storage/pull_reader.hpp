#pragma once
// The SQL of HTTP pulls that the change log reader and the snapshot reader do not cover:
//
//  - a page of a collection's live rows *as they were* at a past log position H, in key
//    order. A row without changes after H is read from fieldsync.rows; a row that
//    changed after H is rebuilt from the first change after H (the old row of an update,
//    the row of a delete; an insert after H means the row did not exist at H). Paged
//    snapshots use it so that pages read minutes apart still form one snapshot at H; it
//    needs every change after H, i.e. H at or above the retention horizon, which the
//    caller checks in the same REPEATABLE READ transaction (async_begin_read).
//  - the versions of one row (its changes within the history window, newest first) and
//    its current version.
//
// Concurrency contract: free functions on a connection the caller owns; one at a time.

#include "protocol/change.hpp"
#include "protocol/lsn.hpp"
#include "storage/change_log_reader.hpp"
#include "storage/pg_connection.hpp"
#include "storage/snapshot_reader.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

// BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY and the log's bounds in that snapshot, so
// that a page read next cannot lose changes to a concurrent compaction. End with
// async_end_read (COMMIT), also after errors.
boost::asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_begin_read(
    pg_connection& conn, const std::string& collection);
boost::asio::awaitable<pg_outcome<void>> async_end_read(pg_connection& conn);

struct snapshot_page_request {
  std::string collection;
  protocol::lsn as_of;                   // H
  std::optional<std::string> after_key;  // keyset paging: rows after this key
  std::size_t skip = 0;                  // offset paging (the Shape API): rows to skip first
  std::size_t limit = 1000;
  // A boolean SQL expression over "row" (compiled filters ANDed; empty: every row) whose
  // parameters are `params`, numbered from $4: compile with sql_params::offset = 3.
  std::string where_sql;
  std::vector<std::optional<std::string>> params;
};

// Rows come back as stored JSON text, with the version each had at H (0/0 when that
// version has left the history window).
boost::asio::awaitable<pg_outcome<std::vector<snapshot_row>>> async_snapshot_page_as_of(
    pg_connection& conn, const snapshot_page_request& request);

// A whole snapshot in one pass, for answers streamed in one piece (NDJSON): a server-side
// cursor in a REPEATABLE READ transaction over the live rows, fetched in batches, in no
// particular order. One scan, whatever the size (keyset pages would sort or walk the key
// index once per page), and memory stays at one batch.
//
// Concurrency contract: holds its connection in a transaction from async_begin to
// async_end; one coroutine drives it.
class snapshot_stream {
 public:
  // `where_sql` is over "row", its parameters numbered from $2: compile with
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

struct row_version {
  protocol::lsn version;
  std::uint32_t idx = 0;
  protocol::change_op op = protocol::change_op::insert;
  std::string row_json;  // the new row; for a delete the old row
  std::vector<std::string> changed;
  std::string commit_time;  // ISO 8601 UTC
  std::optional<protocol::change_origin> origin;
};

struct row_current {
  protocol::lsn version;
  bool deleted = false;
  std::string row_json;
  std::string changed_at;  // ISO 8601 UTC
  std::optional<std::string> client_id;
  std::optional<std::int64_t> mutation_id;
};

struct row_history {
  std::optional<row_current> current;  // none: no such row (or its tombstone expired)
  std::vector<row_version> versions;   // newest first, at most `limit`
  bool more = false;                   // older versions exist beyond `limit`
};

boost::asio::awaitable<pg_outcome<row_history>> async_row_history(pg_connection& conn,
                                                                  const std::string& collection,
                                                                  const std::string& key,
                                                                  std::size_t limit);

}  // namespace fieldsync::storage
