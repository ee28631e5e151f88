#include "server/live/start_slots.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fieldsync::server {

namespace asio = boost::asio;

start_slots::lease::~lease() {
  if (owner_) owner_->release();
}

start_slots::start_slots(asio::any_io_executor ex, std::size_t count)
    : ex_(std::move(ex)), free_(std::max<std::size_t>(1, count)) {}

asio::awaitable<start_slots::lease> start_slots::acquire() {
  if (free_ > 0) {
    --free_;
    co_return lease(this);
  }
  auto w = std::make_shared<waiter>(ex_);
  w->timer.expires_at(asio::steady_timer::time_point::max());
  queue_.push_back(w);
  (void)co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return w->granted ? lease(this) : lease();
}

void start_slots::cancel_all() {
  for (auto& w : queue_) w->timer.cancel();
  queue_.clear();
}

void start_slots::release() {
  if (!queue_.empty()) {
    auto next = std::move(queue_.front());
    queue_.pop_front();
    next->granted = true;
    next->timer.cancel();
    return;
  }
  ++free_;
}

}  // namespace fieldsync::server
