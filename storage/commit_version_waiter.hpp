#pragma once
// Learns the version a committed source transaction gave its rows: its commit LSN, which
// PostgreSQL does not tell the committing session and which the change log records once the
// ingest has stored the transaction. The mutation path waits here (bounded) after its
// COMMIT, so a push result can carry the version of its writes.
//
// One per node, with two sources:
// - The node's own ingest, when it runs here, tells it each transaction it decoded
//   (decoded()): the commit LSN is the version the log will record, known as soon as the
//   source has flushed the commit, without waiting for the log's own commit and
//   notification (docs/mutations.md, "Versions").
// - Otherwise (another node ingests, or the transaction was decoded before anyone waited
//   for it and left the recent ones) the log: it follows the log's high-water mark through
//   the node's listener (storage/log_listener.hpp) and, when the log advances while
//   transactions are awaited, looks them up with one indexed range read of
//   fieldsync.changes for all of them at once. A read that fails (the database restarting)
//   is tried again shortly while anyone still waits: the advance it missed may have been
//   the last one.
//
// Concurrency contract: lives on the listener's executor; async_wait and stop are called
// there. decoded() is safe from any thread (the ingest's).

#include "protocol/lsn.hpp"
#include "storage/log_listener.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

namespace fieldsync::storage {

class commit_version_waiter : public std::enable_shared_from_this<commit_version_waiter> {
 public:
  static std::shared_ptr<commit_version_waiter> create(boost::asio::any_io_executor ex,
                                                       std::shared_ptr<pg_pool> storage,
                                                       std::shared_ptr<log_listener> changes);
  // Ends every wait (with nullopt) and the reads.
  void stop();

  // The log's high-water mark as last notified; nullopt while unknown (no log yet, or not
  // connected). A transaction that commits after this was read has a higher commit LSN.
  std::optional<protocol::lsn> high() const noexcept;

  // The commit LSN of transaction `xid` (32-bit), which committed after the log's position
  // `after`, once the log holds it; nullopt when `deadline` passes first or on stop().
  boost::asio::awaitable<std::optional<protocol::lsn>> async_wait(
      std::uint32_t xid, protocol::lsn after, std::chrono::steady_clock::time_point deadline);

  // The node's ingest decoded transaction `xid`, committed at `commit`, which the log will
  // store. Thread-safe and cheap: called for every transaction the ingest decodes.
  void decoded(std::uint32_t xid, protocol::lsn commit);

 private:
  struct waiter {
    std::uint32_t xid = 0;
    protocol::lsn after;
    std::optional<protocol::lsn> found;
    boost::asio::steady_timer* timer = nullptr;
  };

  commit_version_waiter(boost::asio::any_io_executor ex, std::shared_ptr<pg_pool> storage,
                        std::shared_ptr<log_listener> changes);
  void kick();
  boost::asio::awaitable<void> scan_loop();
  void found(std::uint32_t xid, protocol::lsn commit);
  std::optional<protocol::lsn> recently_decoded(std::uint32_t xid, protocol::lsn after) const;

  boost::asio::any_io_executor ex_;
  std::shared_ptr<pg_pool> storage_;
  std::shared_ptr<log_listener> changes_;
  std::list<waiter*> waiters_;
  boost::asio::steady_timer retry_;  // between a failed read and the next
  bool scanning_ = false;
  bool rescan_ = false;
  bool stopped_ = false;

  // Shared with the ingest's thread, under decoded_mutex_: the xids awaited now, and the
  // transactions decoded most recently (a push may start waiting only after the ingest
  // decoded its commit).
  struct decoded_commit {
    std::uint32_t xid = 0;
    protocol::lsn commit;
  };
  static constexpr std::size_t recent_capacity = 1024;
  mutable std::mutex decoded_mutex_;
  std::unordered_multiset<std::uint32_t> awaited_;
  std::array<decoded_commit, recent_capacity> recent_{};
  std::size_t recent_next_ = 0;
};

}  // namespace fieldsync::storage
