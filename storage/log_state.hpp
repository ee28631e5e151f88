#pragma once
// The ingest's durable state in the storage database (fieldsync.state): epoch, slot,
// resume and high-water positions, retention horizon; and the epoch reset.
//
// Lock order. Every reader of the log that reads more than one of its tables in one
// transaction locks fieldsync.state first (async_begin_read: LOCK TABLE ... IN ACCESS
// SHARE MODE before its snapshot is taken). The reset takes fieldsync.state first too, and
// the other tables without waiting in the lock manager (NOWAIT, polled for a moment): while
// it waits, it holds nothing, and while it holds something, it never waits. So no reader,
// whatever order it takes its locks in, can deadlock with the reset; a reset that cannot
// have every lock gives them all back and tries again a moment later.

#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::storage {

struct log_state {
  std::int64_t epoch = 0;
  std::string slot;
  protocol::lsn resume;
  protocol::lsn high;
  protocol::lsn horizon;
};

// The slot name stored while an epoch reset is under way: history was found lost, the old
// slot may be gone and a new one made, but the log still holds the old epoch. No slot can
// be named so (slot names are [a-z0-9_]), and a leader that finds it knows that the slot it
// sees is the one a reset made (or is about to), never a sign of a restored backup: it
// finishes that reset instead of deciding anew (storage/epoch_decision.hpp).
inline constexpr std::string_view epoch_reset_marker = "(epoch reset under way)";

inline bool reset_pending(const log_state& s) noexcept {
  return s.slot == epoch_reset_marker;
}

// nullopt before the first start.
boost::asio::awaitable<pg_outcome<std::optional<log_state>>> async_read_log_state(
    pg_connection& storage);

// Records that an epoch reset has begun (see epoch_reset_marker); committed before the
// slot is dropped or created.
boost::asio::awaitable<pg_outcome<void>> async_mark_epoch_reset(pg_connection& storage);

struct epoch_reset_options {
  // The wait for the readers in flight to finish with fieldsync.state, per attempt: it
  // doubles from `lock_wait` up to `max_lock_wait`. Readers arriving meanwhile wait behind
  // the reset (they would read an epoch that is ending).
  std::chrono::milliseconds lock_wait{500};
  std::chrono::milliseconds max_lock_wait{16'000};
  // Attempts before giving up (the ingest then retries its whole preparation, which
  // finishes the same reset).
  int attempts = 12;
};

// Starts a new epoch: history is gone (or there was none). In one transaction, which is
// the only step readers see: empties the log and the collections' bookkeeping, records
// the new slot's consistent point as the resume, high-water and horizon position, and
// notifies fieldsync_log "<epoch> <position>" so that every node's long-polls and live
// subscriptions learn of the new epoch at once. The epoch is the time in microseconds
// rather than a counter, so a storage database restored from a backup that predates an
// earlier epoch change cannot hand out that epoch's number a second time.
//
// A snapshot taken before the reset committed finds no state at all afterwards (the state
// is truncated, not deleted), never the old epoch's.
boost::asio::awaitable<pg_outcome<log_state>> async_start_epoch(
    pg_connection& storage, const std::string& slot, protocol::lsn consistent_point,
    const epoch_reset_options& options = {});

}  // namespace fieldsync::storage
