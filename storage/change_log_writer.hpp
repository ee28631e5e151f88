#pragma once
// Appends committed transactions to the change log and moves the resume position, in one
// storage transaction per batch: the changes (COPY), the latest version of every row
// they touched (`rows`), the state row (resume and high-water LSN) and the notification
// that tells every node about the new high-water mark. Either all of it commits or none
// of it does; only once the commit is on disk may the caller confirm the resume LSN to the
// slot (durable_resume()).
//
// Deferred commits: a batch may commit without waiting for its WAL flush (during a
// backlog the writer goes on instead of waiting for the disk; the caller decides). Its
// resume position becomes durable once pg_current_wal_flush_lsn() passes the commit, which
// the writer checks after every commit; the next durable commit flushes all of them. A
// crash before that takes the batch away and the slot, told only flushed positions, sends
// it again: it is written again with the same positions (they are the source's). Readers
// may have seen it meanwhile, so the notification that moves the fan-out goes out only for
// flushed batches, and a cursor ahead of the log after such a crash is told to retry
// (docs/fanout.md, "Deferred commits").
//
// Fencing: async_begin locks the state row and checks that the stored resume position is
// the one this writer last wrote. Another node that took over ingest meanwhile makes it
// fail with pg_errc::fenced instead of writing the same changes twice.
//
// Concurrency contract: uses its connection exclusively from async_begin to
// async_commit/async_rollback; driven by one coroutine.

#include "protocol/change.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/serializer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace fieldsync::storage {

class change_log_writer {
 public:
  // `resume` and `high` as stored, and on disk (the caller made sure).
  change_log_writer(pg_connection& conn, std::int64_t epoch, protocol::lsn resume,
                    protocol::lsn high);

  boost::asio::awaitable<pg_outcome<void>> async_begin();

  // Appends changes of the transaction `txn` (its commit LSN, time and xid; its own
  // `changes` are ignored). May be called several times for one transaction (a large
  // one arrives in pieces); positions within it continue. Truncates become deletes of
  // every live row; missing columns are filled from the row's previous version.
  boost::asio::awaitable<pg_outcome<void>> async_append(const protocol::transaction& txn,
                                                        std::vector<protocol::row_change>& changes);

  // How a batch commits: `durable` waits for the WAL flush (synchronous_commit as the
  // storage database has it); `deferred` does not (synchronous_commit off for that commit).
  enum class commit_mode { durable, deferred };

  // Stores the new resume and high-water positions and commits.
  boost::asio::awaitable<pg_outcome<void>> async_commit(protocol::lsn resume, commit_mode mode);

  // Abandons the batch (the connection may be broken: errors are ignored).
  boost::asio::awaitable<void> async_rollback();

  protocol::lsn resume() const noexcept { return resume_; }
  // The newest resume position whose commit is on disk: the only one the slot may be told.
  protocol::lsn durable_resume() const noexcept { return durable_resume_; }
  protocol::lsn high() const noexcept { return high_; }
  std::uint64_t changes_in_batch() const noexcept { return batch_changes_; }
  // How long the last async_commit spent on the upsert of `rows` (for the debug log).
  std::chrono::steady_clock::duration last_upsert_time() const noexcept { return upsert_time_; }

 private:
  boost::asio::awaitable<pg_outcome<void>> flush_copy();
  boost::asio::awaitable<pg_outcome<void>> upsert_rows(protocol::lsn upto);
  boost::asio::awaitable<pg_outcome<void>> fill_missing(protocol::row_change& change);
  // Moves the durable positions past every deferred commit that `flushed` covers, and
  // notifies the fan-out of the newly durable high-water mark.
  boost::asio::awaitable<pg_outcome<void>> settle(protocol::lsn flushed);
  std::string notify_sql(protocol::lsn high) const;
  // The row as JSON text, valid until the next call.
  std::string_view serialized(const boost::json::object& row);
  boost::asio::awaitable<pg_outcome<void>> expand_truncate(const protocol::transaction& txn,
                                                           const protocol::row_change& change);

  pg_connection& conn_;
  std::int64_t epoch_;
  protocol::lsn resume_;       // as committed
  protocol::lsn high_;         // as committed
  protocol::lsn batch_high_;   // the newest commit LSN appended in this batch
  protocol::lsn durable_resume_;  // resume_ once its commit is on disk
  // The high-water mark this writer last notified (always durable); none at first, so the
  // first commit notifies even when a predecessor's notification was lost.
  protocol::lsn notified_high_;
  // Deferred commits not known to be on disk yet, oldest first.
  struct unflushed_commit {
    protocol::lsn wal_end;  // the storage database's WAL insert position after the commit
    protocol::lsn resume;
    protocol::lsn high;
  };
  std::deque<unflushed_commit> unflushed_;
  protocol::lsn current_txn_;  // the transaction being appended
  std::uint32_t next_idx_ = 0;
  std::uint64_t batch_changes_ = 0;
  std::string copy_buffer_;
  std::string json_buffer_;
  boost::json::serializer serializer_;
  bool open_ = false;
  std::chrono::steady_clock::duration upsert_time_{};
};

}  // namespace fieldsync::storage
