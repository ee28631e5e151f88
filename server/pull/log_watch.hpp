#pragma once
// The change log's high-water mark for HTTP long-polls, followed through the node's
// storage::log_listener and shared by every waiting request. A request that found nothing
// new waits here, each with its own deadline, and re-reads the log when the mark moves (or,
// at its deadline, answers that nothing is new).
//
// Concurrency contract: lives on the listener's executor (the app's io_context); every
// member is called there.

#include "storage/log_listener.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <list>
#include <memory>

namespace fieldsync::server {

class log_watch : public std::enable_shared_from_this<log_watch> {
 public:
  static std::shared_ptr<log_watch> create(boost::asio::any_io_executor ex,
                                           std::shared_ptr<storage::log_listener> changes);

  // Wakes every waiter; they wait no more.
  void stop();

  // The last position seen; epoch 0 before the first.
  storage::log_position position() const noexcept { return changes_->position(); }
  // Bumped on every advance: cached answers remember it to know when they went stale.
  std::uint64_t generation() const noexcept { return generation_; }

  // Returns once the position differs from `seen`, at `deadline`, or at stop(), whichever
  // comes first; the position then.
  boost::asio::awaitable<storage::log_position> async_wait_change(
      storage::log_position seen, std::chrono::steady_clock::time_point deadline);

  std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  log_watch(boost::asio::any_io_executor ex, std::shared_ptr<storage::log_listener> changes);
  void advanced();

  boost::asio::any_io_executor ex_;
  std::shared_ptr<storage::log_listener> changes_;
  std::list<boost::asio::steady_timer*> waiters_;
  std::uint64_t generation_ = 0;
  bool stopped_ = false;
};

}  // namespace fieldsync::server
