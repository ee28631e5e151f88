#include "server/pull/shared_epoch_read.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fieldsync::server {

namespace asio = boost::asio;

shared_epoch_read::shared_epoch_read(asio::any_io_executor executor, read_function read,
                                     std::chrono::steady_clock::duration max_wait)
    : executor_(std::move(executor)), read_(std::move(read)), max_wait_(max_wait) {}

asio::awaitable<std::optional<std::string>> shared_epoch_read::async_read() {
  // The first read to start after now: the next one if a read is in flight (it may have
  // started before a commit this caller already saw), else one this caller starts.
  const std::uint64_t needed = started_ + 1;
  const auto deadline = std::chrono::steady_clock::now() + max_wait_;
  while (finished_ < needed) {
    if (started_ == finished_) {  // no read in flight
      const std::uint64_t number = ++started_;
      std::optional<std::string> result;
      try {
        result = co_await read_();
      } catch (...) {
        result.reset();
      }
      finished_ = number;
      last_ = std::move(result);
      auto waiters = std::move(waiters_);
      waiters_.clear();
      for (auto* t : waiters) t->cancel();
      co_return last_;
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return std::nullopt;
    asio::steady_timer timer(executor_, deadline);
    waiters_.push_back(&timer);
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    // Cancelled by the end of a read (which removed it), or timed out: take it out then.
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), &timer), waiters_.end());
  }
  co_return last_;
}

}  // namespace fieldsync::server
