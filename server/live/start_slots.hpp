#pragma once
// How many subscriptions start (snapshot, catch-up) at once: each holds a storage
// connection while it runs, so a crowd reconnecting at once waits its turn instead of
// exhausting the storage pool for everything else.
//
// Fairness: waiting starts queue per user (the token's subject) and free slots go to the
// users round-robin, so one user's many (or stalled) starts never hold up another user's
// subscribe behind them. The queue is bounded (`max_queued`; full() says when a new start
// must be refused), and a start that will not run any more (its subscription ended, or
// restarted) leaves it by cancel(), so nothing it holds stays queued.
//
// Concurrency contract: lives on the hub's strand; every member is called there.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace fieldsync::server {

class metric_gauge;

class start_slots {
 public:
  // A slot held by a running start; handed on to the next waiting start when destroyed,
  // however the start ends. An empty lease holds nothing.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    lease& operator=(lease&&) = delete;
    ~lease();
    explicit operator bool() const noexcept { return owner_ != nullptr; }

   private:
    friend class start_slots;
    explicit lease(start_slots* owner) : owner_(owner) {}
    start_slots* owner_ = nullptr;
  };

  // `count` slots (at least one); at most `max_queued` starts wait for one. `queued_gauge`,
  // if any, follows queued().
  start_slots(boost::asio::any_io_executor ex, std::size_t count, std::size_t max_queued,
              metric_gauge* queued_gauge = nullptr);

  // True when a new start would have to wait and the queue is full: refuse it.
  bool full() const noexcept { return free_ == 0 && queued_ >= max_queued_; }
  std::size_t queued() const noexcept { return queued_; }

  // A slot, once one is free, for a start of `user` known by `key` (a start of the same key
  // still waiting is cancelled first); an empty lease when cancel() or cancel_all() ended the
  // wait.
  boost::asio::awaitable<lease> acquire(std::string user, const void* key);
  // Ends the wait of the start known by `key`, if it waits.
  void cancel(const void* key);
  // Ends every wait without a slot (the hub stopping).
  void cancel_all();

 private:
  struct waiter {
    waiter(const boost::asio::any_io_executor& ex, std::string u, const void* k)
        : timer(ex), user(std::move(u)), key(k) {}
    boost::asio::steady_timer timer;
    std::string user;
    const void* key;
    bool granted = false;
  };
  // A user's waiting starts; `in_turns` while the user is in turns_ (at most once). An
  // entry whose list emptied stays until its turn comes, so a cancel costs O(1) whatever
  // the number of users waiting.
  struct user_queue {
    std::list<std::shared_ptr<waiter>> list;
    bool in_turns = false;
  };

  void release();
  void unlink(const std::shared_ptr<waiter>& w);

  boost::asio::any_io_executor ex_;
  std::size_t free_;
  std::size_t max_queued_;
  std::size_t queued_ = 0;
  metric_gauge* gauge_;
  std::map<std::string, user_queue, std::less<>> by_user_;  // each user's waiters, in order
  std::deque<std::string> turns_;  // users, in the order they get the next slot
  std::unordered_map<const void*, std::shared_ptr<waiter>> by_key_;
};

}  // namespace fieldsync::server
