#include "server/live/start_slots.hpp"

#include "server/core/metrics_registry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fieldsync::server {

namespace asio = boost::asio;

start_slots::lease::~lease() {
  if (owner_) owner_->release();
}

start_slots::start_slots(asio::any_io_executor ex, std::size_t count, std::size_t max_queued,
                         metric_gauge* queued_gauge)
    : ex_(std::move(ex)),
      free_(std::max<std::size_t>(1, count)),
      max_queued_(max_queued),
      gauge_(queued_gauge) {}

asio::awaitable<start_slots::lease> start_slots::acquire(std::string user, const void* key) {
  cancel(key);
  if (free_ > 0) {
    --free_;
    co_return lease(this);
  }
  auto w = std::make_shared<waiter>(ex_, std::move(user), key);
  w->timer.expires_at(asio::steady_timer::time_point::max());
  auto& q = by_user_[w->user];
  if (!q.in_turns) {
    turns_.push_back(w->user);
    q.in_turns = true;
  }
  q.list.push_back(w);
  by_key_[key] = w;
  ++queued_;
  if (gauge_) gauge_->add();
  (void)co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return w->granted ? lease(this) : lease();
}

// Takes a waiter out of the queue (a user left without waiters is dropped when its turn
// comes, by release()).
void start_slots::unlink(const std::shared_ptr<waiter>& w) {
  by_key_.erase(w->key);
  auto it = by_user_.find(w->user);
  if (it != by_user_.end()) {
    it->second.list.remove(w);
    if (it->second.list.empty() && !it->second.in_turns) by_user_.erase(it);
  }
  --queued_;
  if (gauge_) gauge_->sub();
}

void start_slots::cancel(const void* key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  auto w = it->second;
  unlink(w);
  w->timer.cancel();
}

void start_slots::cancel_all() {
  for (auto& [user, q] : by_user_) {
    for (auto& w : q.list) w->timer.cancel();
  }
  by_user_.clear();
  by_key_.clear();
  turns_.clear();
  if (gauge_) gauge_->sub(static_cast<std::int64_t>(queued_));
  queued_ = 0;
}

void start_slots::release() {
  while (!turns_.empty()) {
    auto user = std::move(turns_.front());
    turns_.pop_front();
    auto it = by_user_.find(user);
    it->second.in_turns = false;
    if (it->second.list.empty()) {  // its starts were cancelled meanwhile
      by_user_.erase(it);
      continue;
    }
    auto next = it->second.list.front();
    unlink(next);
    // The user waits again for its next turn, behind every user waiting now.
    if (auto again = by_user_.find(user); again != by_user_.end()) {
      turns_.push_back(std::move(user));
      again->second.in_turns = true;
    }
    next->granted = true;
    next->timer.cancel();
    return;
  }
  ++free_;
}

}  // namespace fieldsync::server
