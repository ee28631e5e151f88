#pragma once
// The SQL of HTTP pulls that the change log reader and the snapshot reader do not cover
// (storage/snapshot_reader.hpp has the consistent reads and the one-pass snapshot):
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
