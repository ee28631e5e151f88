#pragma once
// The epoch committed in fieldsync.state, read for many requests at once.
//
// A cached answer is keyed by the epoch committed when its request arrived, so that no
// answer of an epoch that has ended is served, even before this node hears of the change
// (pull_service::async_cached_or_claim). Reading it once per request put a database round
// trip, and a query's CPU on the database, in front of every cached answer. Here one read
// serves every request that arrived before it started: a read that starts after a request
// arrived sees every epoch committed before that request was sent. A request that arrives
// while a read is in flight therefore waits for the next one, which starts as soon as the
// current one ends; under load, one read answers all the requests of one round trip.
//
// Concurrency contract: one per pull service, used on its executor (one thread).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::server {

class shared_epoch_read {
 public:
  // One read of the epoch; nullopt when it failed (the database cannot be reached).
  using read_function = std::function<boost::asio::awaitable<std::optional<std::string>>()>;

  shared_epoch_read(boost::asio::any_io_executor executor, read_function read,
                    std::chrono::steady_clock::duration max_wait);

  // The epoch as committed at some instant after this call began; nullopt when that read
  // failed, or when no read ended within `max_wait`.
  boost::asio::awaitable<std::optional<std::string>> async_read();

  // Reads made so far (for tests and metrics).
  std::uint64_t reads() const noexcept { return started_; }

 private:
  boost::asio::any_io_executor executor_;
  read_function read_;
  std::chrono::steady_clock::duration max_wait_;
  // Reads are numbered from 1 and run one at a time: one is in flight while they differ.
  std::uint64_t started_ = 0;
  std::uint64_t finished_ = 0;
  std::optional<std::string> last_;
  std::vector<boost::asio::steady_timer*> waiters_;  // woken when a read ends
};

}  // namespace fieldsync::server
