#pragma once
// How many subscriptions start (snapshot, catch-up) at once: each holds a storage
// connection while it runs, so a crowd reconnecting at once waits its turn, in order of
// arrival, instead of exhausting the storage pool for everything else.
//
// Concurrency contract: lives on the hub's strand; every member is called there.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <deque>
#include <memory>

namespace fieldsync::server {

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

  // `count` slots (at least one).
  start_slots(boost::asio::any_io_executor ex, std::size_t count);

  // A slot, once one is free; an empty lease when cancel_all() ended the wait.
  boost::asio::awaitable<lease> acquire();
  // Ends every wait without a slot (the hub stopping).
  void cancel_all();

 private:
  struct waiter {
    explicit waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool granted = false;
  };

  void release();

  boost::asio::any_io_executor ex_;
  std::size_t free_;
  std::deque<std::shared_ptr<waiter>> queue_;
};

}  // namespace fieldsync::server
