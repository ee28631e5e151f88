#pragma once
// A consistent snapshot of one collection's live rows from the change log, page by page:
// one REPEATABLE READ transaction reads the log's bounds and then the rows in key order
// (keyset paging), so every page belongs to the same instant, the high-water mark, from
// which the changes continue. Used by WebSocket subscriptions without a cursor, HTTP pulls
// without a cursor and the Shape API's initial sync.
//
// Rows come back as the stored JSON text, ready to embed in an answer.
//
// Concurrency contract: holds its connection in a transaction from async_begin to
// async_end (or destruction of the connection); one coroutine drives it.

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

class snapshot_reader {
 public:
  // `where_sql` is a boolean SQL expression over "row" (compiled filters, ANDed; empty:
  // every row) whose parameters are `params`, numbered from $3 (the reader's own are $1
  // and $2): compile with sql_params::offset = 2.
  snapshot_reader(pg_connection& conn, std::string collection, std::string where_sql,
                  std::vector<std::optional<std::string>> params);

  // Opens the transaction; nullopt when there is no log yet.
  boost::asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_begin();

  // The next rows after the last key returned, at most `limit`; empty when done.
  boost::asio::awaitable<pg_outcome<std::vector<snapshot_row>>> async_next(std::size_t limit);

  // Ends the transaction.
  boost::asio::awaitable<pg_outcome<void>> async_end();

 private:
  pg_connection& conn_;
  std::string collection_;
  std::string where_sql_;
  std::vector<std::optional<std::string>> params_;
  std::optional<std::string> last_key_;
  bool open_ = false;
};

}  // namespace fieldsync::storage
