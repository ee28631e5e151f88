#pragma once
// The change log's high-water mark for HTTP long-polls, followed through the node's
// storage::log_listener and shared by every waiting request. A request that found nothing
// new waits here for its collection, with its own deadline, and reads the log again only
// when that collection may have changed since its read (or answers, at its deadline, that
// nothing is new).
//
// Which collections moved is asked once per advance for the whole node
// (storage::async_changed_collections), and only while somebody waits: 200 long-polls on
// quiet collections cost no reads when another collection changes. What the watch knows:
// from `base_` on (in the current epoch), the newest change of every collection up to
// `checked_`. A waiter whose read is older than `base_`, or older than its collection's
// newest known change, reads again at once; an epoch change, a failed check and stop()
// wake everybody.
//
// Concurrency contract: lives on the listener's executor (the app's io_context); every
// member is called there.

#include "protocol/lsn.hpp"
#include "storage/log_listener.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace fieldsync::server {

class log_watch : public std::enable_shared_from_this<log_watch> {
 public:
  // `storage`: where the change log is, for the per-advance check.
  static std::shared_ptr<log_watch> create(boost::asio::any_io_executor ex,
                                           std::shared_ptr<storage::log_listener> changes,
                                           std::shared_ptr<storage::pg_pool> storage);

  // Wakes every waiter; they wait no more.
  void stop();
  bool stopped() const noexcept { return stopped_; }

  // The last position seen; epoch 0 before the first.
  storage::log_position position() const noexcept { return changes_->position(); }
  // Bumped on every advance: cached answers remember it to know when they went stale.
  std::uint64_t generation() const noexcept { return generation_; }

  // Returns once `collection` may have changed after `seen` (the position() taken before
  // the caller's read), at `deadline`, or at stop(), whichever comes first.
  boost::asio::awaitable<void> async_wait_change(std::string_view collection,
                                                 storage::log_position seen,
                                                 std::chrono::steady_clock::time_point deadline);

  std::size_t waiters() const noexcept { return waiting_; }

 private:
  struct waiter {
    boost::asio::steady_timer* timer;
    protocol::lsn seen;
  };
  using waiter_list = std::list<waiter>;

  log_watch(boost::asio::any_io_executor ex, std::shared_ptr<storage::log_listener> changes,
            std::shared_ptr<storage::pg_pool> storage);
  void advanced(const storage::log_position& p);
  bool may_have_changed(std::string_view collection, const storage::log_position& seen) const;
  void wake_all();
  boost::asio::awaitable<void> check();

  boost::asio::any_io_executor ex_;
  std::shared_ptr<storage::log_listener> changes_;
  std::shared_ptr<storage::pg_pool> storage_;
  std::map<std::string, waiter_list, std::less<>> waiters_;  // by collection
  std::size_t waiting_ = 0;
  std::uint64_t generation_ = 0;
  bool stopped_ = false;

  std::int64_t epoch_ = 0;
  protocol::lsn base_;     // nothing is known of the changes at or before it
  protocol::lsn checked_;  // checked up to here
  protocol::lsn target_;   // the newest high-water mark heard of
  std::map<std::string, protocol::lsn, std::less<>> last_change_;
  bool checking_ = false;
};

}  // namespace fieldsync::server
