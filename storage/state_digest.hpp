#pragma once
// The state check (docs/protocol.md, "State check"): the digest of exactly the rows a
// client holding cursor C has of a collection for its scope and filter.
//
// The rows at C are the rows as of that log position: a row without a change after C is
// what fieldsync.rows holds (unless it is a tombstone); a row changed after C is rebuilt
// from its first change after C (the old row of an update, the row of a delete; an insert
// after C means the row did not exist at C). "After" counts the cursor's index within its
// transaction. This needs every change after C, i.e. C at or above the retention horizon,
// which the caller checks (check_cursor) in the same REPEATABLE READ transaction
// (async_begin_read). The scope and filter are applied to the row as it was at C, as the
// snapshot of a subscription made at C would.
//
// The rows are read through a server-side cursor in batches and hashed as they come
// (protocol/row_digest.hpp), so memory stays at one batch whatever the scope's size.
//
// Concurrency contract: a free function on a connection the caller owns, inside the
// caller's read transaction; one at a time.

#include "protocol/cursor.hpp"
#include "protocol/row_digest.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

struct state_digest_request {
  std::string collection;
  protocol::cursor at;
  // A boolean SQL expression over "row" (compiled scope and filter ANDed; empty: every
  // row) whose parameters are `params`, numbered from $4: compile with
  // sql_params::offset = 3.
  std::string where_sql;
  std::vector<std::optional<std::string>> params;
  std::size_t batch_rows = 5000;
};

// The digest of the rows at `at`. A stored row that is not JSON fails with
// pg_errc::unexpected_result.
boost::asio::awaitable<pg_outcome<protocol::row_digest>> async_state_digest(
    pg_connection& conn, const state_digest_request& request);

}  // namespace fieldsync::storage
