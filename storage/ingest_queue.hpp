#pragma once
// The hand-off between the ingest's two halves: the reader (replication stream, pgoutput
// decoding, transaction assembly) and the writer (the change log in the storage
// database). With the queue between them, PostgreSQL's walsender decodes the next
// changes and fieldsync converts them while the storage database writes the previous
// batch, instead of each waiting for the other.
//
// Bounded by bytes (the assembler's estimate of what the changes hold in memory): push
// waits while the queue is not empty and the new item would take it past max_bytes, so
// the reader stops reading the stream (and the walsender stops sending) when the writer
// falls behind. An item bigger than the bound still goes in once the queue is empty.
//
// Concurrency contract: one executor; one coroutine pushes, one pops. close() wakes both
// for good (the other side failed or stopped).

#include "protocol/change.hpp"
#include "protocol/lsn.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace fieldsync::storage {

struct ingest_work {
  enum class kind {
    batch,         // complete transactions (possibly none): store them, move resume
    spill_piece,   // part of a transaction too big for memory: append it, do not commit
    spill_commit,  // that transaction's last part: append it, move resume, commit
    spill_abort,   // give up that transaction (stopping): roll back
  };
  kind what = kind::batch;
  // batch: complete transactions; spill_*: one, its header and this part's changes.
  std::vector<protocol::transaction> transactions;
  protocol::lsn resume;  // batch, spill_commit: the resume position once stored
  std::size_t bytes = 0;
  std::uint64_t changes = 0;
};

class ingest_queue {
 public:
  ingest_queue(boost::asio::any_io_executor ex, std::size_t max_bytes);

  // Waits for room, then appends. False when the queue was closed.
  boost::asio::awaitable<bool> async_push(ingest_work item);
  // The next item; nullopt once the queue is closed and empty (at once when it was
  // closed with drop_pending).
  boost::asio::awaitable<std::optional<ingest_work>> async_pop();
  // The next item if one is queued and is a batch that fits within the limits together
  // with what the caller already took: lets the writer merge small batches.
  std::optional<ingest_work> try_pop_batch(std::size_t max_changes, std::size_t max_bytes);

  // No more pushes. With drop_pending, pops return nullopt at once.
  void close(bool drop_pending);
  bool closed() const noexcept { return closed_; }
  bool empty() const noexcept { return items_.empty(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint64_t changes() const noexcept { return changes_; }

 private:
  ingest_work take_front();

  std::size_t max_bytes_;
  std::deque<ingest_work> items_;
  std::size_t bytes_ = 0;
  std::uint64_t changes_ = 0;
  bool closed_ = false;
  // Condition variables of one executor: a waiter waits on a timer that never expires;
  // cancel() wakes it.
  boost::asio::steady_timer has_item_;
  boost::asio::steady_timer has_room_;
};

}  // namespace fieldsync::storage
