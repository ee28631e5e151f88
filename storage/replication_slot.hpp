#pragma once
// fieldsync's logical replication slot on the source database, through SQL functions on
// an ordinary connection; and the source's timeline, through a walsender session.

#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::storage {

struct slot_state {
  std::string plugin;
  std::string database;
  bool lost = false;         // invalidated: its WAL is gone (max_slot_wal_keep_size)
  std::string wal_status;    // reserved, extended, unreserved, lost
  protocol::lsn restart_lsn;
  protocol::lsn confirmed_flush;
  std::optional<int> active_pid;
};

// nullopt when no slot of that name exists.
boost::asio::awaitable<pg_outcome<std::optional<slot_state>>> async_slot_state(
    pg_connection& conn, const std::string& slot);

// Creates a pgoutput slot in the connection's database; returns its consistent point.
// Waits for transactions that are running at the time to end (PostgreSQL's rule).
boost::asio::awaitable<pg_outcome<protocol::lsn>> async_create_slot(pg_connection& conn,
                                                                   const std::string& slot);

// Drops the slot, ending the walsender that uses it if there is one.
boost::asio::awaitable<pg_outcome<void>> async_drop_slot(pg_connection& conn,
                                                         const std::string& slot);

// Where the current timeline of the server began: the switch point of its last promotion,
// from IDENTIFY_SYSTEM and TIMELINE_HISTORY on `replication`, a walsender connection
// (replication=database). nullopt on timeline 1 (never promoted) or when the history
// cannot be read as PostgreSQL writes it.
boost::asio::awaitable<pg_outcome<std::optional<protocol::lsn>>> async_timeline_start(
    pg_connection& replication);

// The switch point in a timeline history file's text: the second field of its last entry
// ("<parent timeline>\t<switch point>\t<reason>"); nullopt when there is none.
std::optional<protocol::lsn> timeline_history_end(std::string_view history);

}  // namespace fieldsync::storage
