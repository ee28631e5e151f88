#include "server/pull/log_watch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fieldsync::server {

namespace asio = boost::asio;

std::shared_ptr<log_watch> log_watch::create(asio::any_io_executor ex,
                                             std::shared_ptr<storage::log_listener> changes) {
  auto self = std::shared_ptr<log_watch>(new log_watch(std::move(ex), std::move(changes)));
  std::weak_ptr<log_watch> weak = self;
  self->changes_->subscribe([weak](const storage::log_position&) {
    if (auto watch = weak.lock()) watch->advanced();
  });
  return self;
}

log_watch::log_watch(asio::any_io_executor ex, std::shared_ptr<storage::log_listener> changes)
    : ex_(std::move(ex)), changes_(std::move(changes)) {}

void log_watch::stop() {
  stopped_ = true;
  advanced();
}

void log_watch::advanced() {
  ++generation_;
  for (auto* t : waiters_) t->cancel();
}

asio::awaitable<storage::log_position> log_watch::async_wait_change(
    storage::log_position seen, std::chrono::steady_clock::time_point deadline) {
  auto self = shared_from_this();
  auto differs = [&] {
    auto now = position();
    return now.epoch != seen.epoch || now.high != seen.high;
  };
  while (!stopped_ && !differs() && std::chrono::steady_clock::now() < deadline) {
    asio::steady_timer timer(ex_, deadline);
    // Unregisters also when the coroutine is destroyed mid-wait (the reactor going away).
    struct registration {
      std::list<asio::steady_timer*>& list;
      std::list<asio::steady_timer*>::iterator it;
      ~registration() { list.erase(it); }
    } reg{waiters_, waiters_.insert(waiters_.end(), &timer)};
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return position();
}

}  // namespace fieldsync::server
