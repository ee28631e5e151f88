#include "storage/ingest_queue.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fieldsync::storage {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;

ingest_queue::ingest_queue(asio::any_io_executor ex, std::size_t max_bytes)
    : max_bytes_(max_bytes),
      has_item_(ex, asio::steady_timer::time_point::max()),
      has_room_(ex, asio::steady_timer::time_point::max()) {}

asio::awaitable<bool> ingest_queue::async_push(ingest_work item) {
  while (!closed_ && !items_.empty() && bytes_ + item.bytes > max_bytes_) {
    has_room_.expires_at(asio::steady_timer::time_point::max());
    (void)co_await has_room_.async_wait(as_tuple(use_awaitable));
  }
  if (closed_) co_return false;
  bytes_ += item.bytes;
  changes_ += item.changes;
  items_.push_back(std::move(item));
  has_item_.cancel();
  co_return true;
}

asio::awaitable<std::optional<ingest_work>> ingest_queue::async_pop() {
  while (items_.empty() && !closed_) {
    has_item_.expires_at(asio::steady_timer::time_point::max());
    (void)co_await has_item_.async_wait(as_tuple(use_awaitable));
  }
  if (items_.empty()) co_return std::nullopt;
  co_return take_front();
}

std::optional<ingest_work> ingest_queue::try_pop_batch(std::size_t max_changes,
                                                       std::size_t max_bytes) {
  if (items_.empty()) return std::nullopt;
  const auto& front = items_.front();
  if (front.what != ingest_work::kind::batch || front.changes > max_changes ||
      front.bytes > max_bytes) {
    return std::nullopt;
  }
  return take_front();
}

ingest_work ingest_queue::take_front() {
  ingest_work item = std::move(items_.front());
  items_.pop_front();
  bytes_ -= item.bytes;
  changes_ -= item.changes;
  has_room_.cancel();
  return item;
}

void ingest_queue::close(bool drop_pending) {
  closed_ = true;
  if (drop_pending) {
    items_.clear();
    bytes_ = 0;
    changes_ = 0;
  }
  has_item_.cancel();
  has_room_.cancel();
}

}  // namespace fieldsync::storage
