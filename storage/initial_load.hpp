#pragma once
// Copies collections' current rows into the change log's `rows` at a point consistent
// with the replication stream, while integrations keep writing.
//
// First it waits for the transactions that were running when the publication gained the
// tables to end (they may be decoded without them). Then it reads the WAL position L0,
// takes a REPEATABLE READ snapshot S of the source
// and copy the tables as S sees them; the rows get version L0. A stream transaction that
// S sees committed before the copy (so its effects are in it), and only such a
// transaction, is skipped for these collections: the snapshot text is stored with the
// load and checked against every transaction's xid until the stream passes the WAL
// position read after the copy (no transaction S saw can commit after that). Every
// transaction S did not see committed after L0, so the stream still delivers it with a
// version above L0. No row is missed and none is applied twice.
//
// The load commits in one storage transaction (rows + the collection's bookkeeping): a
// crash in the middle loads again from scratch. A collection that cannot be copied (a
// value that does not convert, a table the role may not read) fails alone: its part is
// rolled back to a savepoint on both sides, the others are copied, and the failure is
// stored with the collection (fieldsync.collections.failure) so that every reader refuses
// it clearly instead of waiting for a copy that will not come.

#include "protocol/collection_schema.hpp"
#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fieldsync::storage {

struct load_failure {
  std::string collection;
  std::string message;  // names the table, and the column when a value was at fault
};

struct load_report {
  std::uint64_t rows = 0;
  protocol::lsn version;  // L0
  std::vector<load_failure> failures;
};

// `source` and `storage` may be connections to the same database, never the same
// connection. `storage` must not be in a transaction.
boost::asio::awaitable<pg_outcome<load_report>> async_load_collections(
    pg_connection& source, pg_connection& storage,
    const std::vector<const protocol::collection_schema*>& collections, std::int64_t epoch);

}  // namespace fieldsync::storage
