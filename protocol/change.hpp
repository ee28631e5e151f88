#pragma once
// The change feed's vocabulary: a committed transaction of row changes to collections,
// as the ingest assembles it from pgoutput and as the change log, the fan-out hub and
// the pulls read it back.

#include "protocol/lsn.hpp"
#include "protocol/walsender_message.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::protocol {

// truncate exists only between the ingest and the change log, which expands it into a
// delete of every live row of the collection; readers of the log never see it.
enum class change_op : char { insert = 'i', update = 'u', remove = 'd', truncate = 't' };

std::string_view to_string(change_op op) noexcept;  // "insert", "update", "delete", "truncate"

// Which client mutation made a change. Read from the transactional logical message with
// prefix "fieldsync" that the mutation path emits before a batch's writes
// (protocol/origin_message.hpp); absent for changes made by integrations and triggers.
struct change_origin {
  std::string client_id;
  std::int64_t mutation_id = 0;
  std::string client_ts;  // the client's hybrid logical clock, as it sent it
};

struct row_change {
  std::string collection;
  change_op op = change_op::insert;
  std::string key;  // canonical key text (protocol/row_key.hpp)
  // insert, update: the full new row (synced columns only); delete: the full old row.
  boost::json::object row;
  // update: the row before the change (REPLICA IDENTITY FULL), for scope moves.
  std::optional<boost::json::object> old_row;
  // update: the columns whose value changed; insert: every column; delete: none.
  std::vector<std::string> changed;
  std::optional<change_origin> origin;
  // Columns the stream did not carry (an unchanged TOASTed value without the old row, or a
  // delete that logged only the key): the change log fills them from the row's previous
  // version. Never NULL-filled.
  std::vector<std::string> missing;
};

// One committed source transaction's changes to synced collections, in WAL order.
struct transaction {
  lsn commit_lsn;  // the version of every row it wrote
  lsn end_lsn;     // confirmed to the slot once the transaction is stored
  pg_timestamp commit_time = 0;
  std::uint32_t xid = 0;
  std::vector<row_change> changes;
};

}  // namespace fieldsync::protocol
