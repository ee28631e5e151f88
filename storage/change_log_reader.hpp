#pragma once
// Reading the change log back: whether a cursor can resume, and the changes after a
// position. Shared by the fan-out hub (one read per node per log advance) and the HTTP
// pulls. Positions and epochs follow docs/changelog.md.

#include "protocol/change.hpp"
#include "protocol/cursor.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

// Why a cursor cannot resume; the client must re-snapshot.
enum class cursor_verdict {
  ok,
  other_epoch,     // history was lost since (new slot, restored log)
  before_horizon,  // older than the log's retention
  before_load,     // older than the collection's (re)load
  ahead,           // beyond the log's high-water mark: not a cursor this log gave out
  no_log,          // the log does not exist yet
  not_loaded,      // the collection is still being copied: retry shortly
  failed,          // the collection could not be copied (log_bounds::failure says why)
};

std::string_view to_string(cursor_verdict v) noexcept;

struct log_bounds {
  std::int64_t epoch = 0;
  protocol::lsn high;
  protocol::lsn horizon;
  // Of the collection asked about: whether its copy is in the log (this epoch), and the
  // version of the copied rows. Until it is loaded, its snapshot would be empty: serve
  // nothing and ask the client to retry (cursor_verdict::not_loaded).
  bool loaded = false;
  protocol::lsn loaded_lsn;
  // Set when the collection could not be copied (or a value of it read): it is not
  // served until fieldsync restarts and copies it again. For the operator; names the
  // table and the column.
  std::string failure;
};

// Where a snapshot of the collection, read now, continues from: the high-water mark, or
// the copy's version when the stream has not passed it yet (no change of the collection
// at or below it can reach the log any more; see docs/changelog.md, "Initial load").
inline protocol::lsn snapshot_position(const log_bounds& b) noexcept {
  return b.high > b.loaded_lsn ? b.high : b.loaded_lsn;
}

// The log's bounds for `collection`.
boost::asio::awaitable<pg_outcome<std::optional<log_bounds>>> async_log_bounds(
    pg_connection& conn, const std::string& collection);

cursor_verdict check_cursor(const log_bounds& bounds, const protocol::cursor& c) noexcept;

// One stored change as read back.
struct log_change {
  protocol::lsn position;
  std::uint32_t idx = 0;
  protocol::row_change change;  // row, old_row, changed, origin filled in
  protocol::pg_timestamp commit_time = 0;
  std::uint32_t xid = 0;
};

// Changes after `after` (exclusive; a cursor's index counts) up to and including `upto`,
// in log order, at most `limit` of them, optionally of one collection only.
boost::asio::awaitable<pg_outcome<std::vector<log_change>>> async_read_changes(
    pg_connection& conn, const protocol::cursor& after, protocol::lsn upto, std::size_t limit,
    const std::string* collection = nullptr);

// The same, read only while the log is still in `after`'s epoch (checked in the same
// statement): nullopt when it is not, or when there is no log any more. For reads outside a
// transaction begun with async_begin_read, whose bounds could be of an epoch that ended
// since (the fan-out hub follows the log with such reads): a position of an epoch that is
// no longer current must not be paired with what the log holds now.
struct epoch_changes {
  std::vector<log_change> changes;
  // The log's high-water mark in the same snapshot: below `upto` when the log lost batches
  // in a crash that it has not written again yet (storage/change_log_writer.hpp).
  protocol::lsn high;
};
boost::asio::awaitable<pg_outcome<std::optional<epoch_changes>>> async_read_changes_in_epoch(
    pg_connection& conn, const protocol::cursor& after, protocol::lsn upto, std::size_t limit,
    const std::string* collection = nullptr);

}  // namespace fieldsync::storage
