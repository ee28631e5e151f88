#pragma once
// Turns the pgoutput message stream into committed transactions of collection changes.
//
// It keeps the relation cache, maps relations to collections (by schema and table name,
// as configured), converts tuples into JSON rows with protocol/value_json, fills unchanged
// TOAST values from the old row that REPLICA IDENTITY FULL logs (or marks them missing
// for the change log to fill, never NULL), attaches the origin of fieldsync mutations
// (the transactional message with prefix "fieldsync" before a batch's writes, read by
// protocol/origin_message.hpp),
// and reports heartbeats (non-transactional messages with prefix "fieldsync.heartbeat").
//
// Memory is bounded: when the open transaction's changes exceed max_bytes, feed() says
// so and the caller takes them (take_changes) to write them ahead of the commit; the
// transaction still commits atomically in the log.
//
// Pure (no I/O); one per replication session, used by one coroutine.

#include "protocol/change.hpp"
#include "protocol/collection_schema.hpp"
#include "protocol/origin_message.hpp"
#include "protocol/pgoutput_message.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fieldsync::protocol {

enum class assembler_errc {
  change_outside_transaction = 1,  // a change, truncate or commit without a Begin
  nested_begin,                    // a Begin while a transaction is open
  unknown_relation,                // a change for a relation no Relation message described
  commit_mismatch,                 // a Commit whose LSN is not the Begin's final LSN
  bad_value,                       // a column value that does not parse as its type
  binary_value,                    // a binary-format value (never requested)
  bad_tuple,                       // a tuple whose column count differs from its relation's
  missing_key,                     // a row without its primary key columns
};

const boost::system::error_category& assembler_category() noexcept;
inline boost::system::error_code make_error_code(assembler_errc e) noexcept {
  return {static_cast<int>(e), assembler_category()};
}

inline constexpr std::string_view origin_message_prefix = "fieldsync";
inline constexpr std::string_view heartbeat_message_prefix = "fieldsync.heartbeat";

class transaction_assembler {
 public:
  enum class event {
    none,        // nothing to do yet
    committed,   // a transaction ended: take_transaction()
    over_limit,  // the open transaction exceeds max_bytes: take_changes()
    heartbeat,   // a heartbeat outside any transaction: heartbeat_lsn()
  };

  transaction_assembler(std::vector<collection_schema> collections,
                        std::size_t max_bytes);

  boost::system::result<event> feed(const protocol::pgoutput_message& message);

  // After `committed`: the transaction (with the changes not taken before).
  transaction take_transaction();
  // What the transaction just taken held in memory (the estimate checked against the limit).
  std::size_t last_transaction_bytes() const noexcept { return last_bytes_; }
  // Drops the open transaction's changes to these collections (already in a table copy);
  // call right after its Begin.
  void exclude_collections(std::vector<std::string> names) { excluded_ = std::move(names); }
  // After `over_limit`: the open transaction's changes so far, and its identity.
  std::vector<row_change> take_changes();
  const transaction& open_transaction() const noexcept { return txn_; }
  bool in_transaction() const noexcept { return open_; }
  // After a bad_value error: the collection, the column and why (a message that names
  // the table and the column, for the operator).
  struct value_failure {
    std::string collection;
    std::string message;
  };
  const std::optional<value_failure>& last_failure() const noexcept { return failure_; }
  // The position of the last heartbeat.
  protocol::lsn heartbeat_lsn() const noexcept { return heartbeat_lsn_; }
  // Changes taken early (take_changes) for the open transaction.
  bool spilled() const noexcept { return spilled_; }

  // Relations whose replica identity is not FULL, for a warning (named once each).
  std::vector<std::string> take_identity_warnings();

 private:
  struct route {
    const collection_schema* collection = nullptr;
    // For each relation column: its index in collection->columns, or -1 when not synced.
    std::vector<int> column_slot;
    std::vector<protocol::column_type> types;
  };

  boost::system::result<event> on_relation(const protocol::relation_message& m);
  boost::system::result<event> on_change(std::uint32_t relation_oid, protocol::change_op op,
                                         const protocol::tuple_data* old_tuple,
                                         bool old_is_key_only,
                                         const protocol::tuple_data* new_tuple);
  boost::system::result<event> on_truncate(const protocol::truncate_message& m);
  boost::system::result<event> on_message(const protocol::logical_message& m);
  event added(std::size_t bytes);
  bool is_excluded(const std::string& collection) const noexcept;

  std::vector<collection_schema> collections_;
  std::map<std::string, const collection_schema*, std::less<>> by_table_;
  protocol::relation_cache relations_;
  std::unordered_map<std::uint32_t, route> routes_;
  std::size_t max_bytes_;

  bool open_ = false;
  bool spilled_ = false;
  transaction txn_;
  std::size_t txn_bytes_ = 0;
  std::size_t last_bytes_ = 0;
  std::vector<std::string> excluded_;
  std::optional<value_failure> failure_;
  announced_origins origins_;
  protocol::lsn heartbeat_lsn_;
  std::vector<std::string> identity_warnings_;
  std::vector<std::string> warned_;
};

}  // namespace fieldsync::protocol

template <>
struct boost::system::is_error_code_enum<fieldsync::protocol::assembler_errc> : std::true_type {};
