#pragma once
// Retention of the change log: superseded versions and deletes older than the history
// window leave `changes` (the retention horizon moves first, so a reader never expects
// what is gone), and tombstones older than their window leave `rows`. The latest version
// of every live row stays in `rows` forever.
//
// Every node may run it; a transaction-scoped advisory lock lets one at a time work.
// Deletes go in small chunks, each its own transaction, so ingest is never blocked for
// longer than one chunk's row locks (and those rows are never ones ingest writes).
//
// Concurrency contract: start and stop on the executor the pool lives on.

#include "storage/pg_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace fieldsync::storage {

struct compaction_options {
  std::chrono::milliseconds history{7LL * 24 * 3600 * 1000};
  std::chrono::milliseconds tombstones{7LL * 24 * 3600 * 1000};
  std::chrono::milliseconds interval{60'000};
  int chunk_rows = 10'000;
};

struct compaction_report {
  std::uint64_t changes_removed = 0;
  std::uint64_t tombstones_removed = 0;
  bool skipped = false;  // another node was compacting
};

// One pass.
boost::asio::awaitable<pg_outcome<compaction_report>> async_compact_log(
    pg_pool& storage, const compaction_options& opts);

class log_compactor : public std::enable_shared_from_this<log_compactor> {
 public:
  static std::shared_ptr<log_compactor> create(boost::asio::any_io_executor ex,
                                               std::shared_ptr<pg_pool> storage,
                                               compaction_options opts);
  void start();
  void stop();

 private:
  log_compactor(boost::asio::any_io_executor ex, std::shared_ptr<pg_pool> storage,
                compaction_options opts);
  boost::asio::awaitable<void> run();

  boost::asio::any_io_executor ex_;
  std::shared_ptr<pg_pool> storage_;
  compaction_options opts_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace fieldsync::storage
