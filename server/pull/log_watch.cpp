#include "server/pull/log_watch.hpp"

#include "server/core/spawn_logged.hpp"
#include "storage/changed_collections.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fieldsync::server {

namespace asio = boost::asio;

std::shared_ptr<log_watch> log_watch::create(asio::any_io_executor ex,
                                             std::shared_ptr<storage::log_listener> changes,
                                             std::shared_ptr<storage::pg_pool> storage) {
  auto self = std::shared_ptr<log_watch>(
      new log_watch(std::move(ex), std::move(changes), std::move(storage)));
  std::weak_ptr<log_watch> weak = self;
  self->changes_->subscribe([weak](const storage::log_position& p) {
    if (auto watch = weak.lock()) watch->advanced(p);
  });
  return self;
}

log_watch::log_watch(asio::any_io_executor ex, std::shared_ptr<storage::log_listener> changes,
                     std::shared_ptr<storage::pg_pool> storage)
    : ex_(std::move(ex)), changes_(std::move(changes)), storage_(std::move(storage)) {
  const auto& p = changes_->position();
  epoch_ = p.epoch;
  base_ = checked_ = target_ = p.high;
}

void log_watch::stop() {
  stopped_ = true;
  wake_all();
}

void log_watch::wake_all() {
  for (auto& [collection, list] : waiters_) {
    for (auto& w : list) w.timer->cancel();
  }
}

void log_watch::advanced(const storage::log_position& p) {
  ++generation_;
  if (p.epoch != epoch_) {
    // Another history: nothing known of the old one applies.
    epoch_ = p.epoch;
    base_ = checked_ = target_ = p.high;
    last_change_.clear();
    wake_all();
    return;
  }
  if (p.high <= target_) return;
  target_ = p.high;
  if (!checking_) {
    checking_ = true;
    spawn_logged(
        ex_, [self = shared_from_this()] { return self->check(); }, "long-poll check");
  }
}

// Finds which collections moved from checked_ to target_, until it has caught up.
asio::awaitable<void> log_watch::check() {
  while (!stopped_ && checked_ < target_) {
    const auto epoch = epoch_;
    const auto from = checked_;
    const auto upto = target_;
    if (waiting_ == 0) {
      // Nobody waits: forget instead of asking; a later waiter with an older read reads again.
      base_ = checked_ = upto;
      last_change_.clear();
      continue;
    }
    auto changed = co_await storage::async_changed_collections(*storage_, from, upto);
    if (epoch != epoch_ || checked_ != from) continue;  // a new epoch started meanwhile
    if (!changed) {
      spdlog::debug("long-polls: cannot tell which collections changed ({}): waking all",
                    changed.error().to_string());
      base_ = checked_ = upto;
      last_change_.clear();
      wake_all();
      continue;
    }
    checked_ = upto;
    for (const auto& c : *changed) {
      last_change_[c.collection] = c.last;
      auto it = waiters_.find(c.collection);
      if (it == waiters_.end()) continue;
      for (auto& w : it->second) {
        if (w.seen < c.last) w.timer->cancel();
      }
    }
  }
  checking_ = false;
}

bool log_watch::may_have_changed(std::string_view collection,
                                 const storage::log_position& seen) const {
  if (seen.epoch != epoch_ || seen.high < base_) return true;
  auto it = last_change_.find(collection);
  return it != last_change_.end() && seen.high < it->second;
}

asio::awaitable<void> log_watch::async_wait_change(std::string_view collection,
                                                   storage::log_position seen,
                                                   std::chrono::steady_clock::time_point deadline) {
  auto self = shared_from_this();
  if (stopped_ || may_have_changed(collection, seen) ||
      std::chrono::steady_clock::now() >= deadline) {
    co_return;
  }
  asio::steady_timer timer(ex_, deadline);
  auto list = waiters_.try_emplace(std::string(collection)).first;
  // Unregisters also when the coroutine is destroyed mid-wait (the reactor going away).
  struct registration {
    log_watch& watch;
    decltype(list) entry;
    waiter_list::iterator it;
    ~registration() {
      entry->second.erase(it);
      if (entry->second.empty()) watch.waiters_.erase(entry);
      --watch.waiting_;
    }
  } reg{*this, list, list->second.insert(list->second.end(), waiter{&timer, seen.high})};
  ++waiting_;
  (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace fieldsync::server
