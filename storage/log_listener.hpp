#pragma once
// Follows the change log's high-water mark on any node: LISTEN fieldsync_log on a storage
// connection (the ingest leader notifies "<epoch> <high LSN>" with each commit), with
// reconnects. After every (re)connect it reads the state once, so a notification missed
// while disconnected is never lost: the callback sees every advance, possibly merged.
//
// Concurrency contract: lives on one executor; the callback runs there. start and stop
// are called there.

#include "protocol/lsn.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace fieldsync::storage {

struct log_position {
  std::int64_t epoch = 0;
  protocol::lsn high;
};

class log_listener : public std::enable_shared_from_this<log_listener> {
 public:
  using callback = std::function<void(const log_position&)>;

  static std::shared_ptr<log_listener> create(boost::asio::any_io_executor ex,
                                              std::string storage_conninfo, callback on_advance,
                                              std::chrono::milliseconds connect_timeout);
  void start();
  void stop();
  // The last position seen; epoch 0 before the first.
  const log_position& position() const noexcept { return position_; }

 private:
  log_listener(boost::asio::any_io_executor ex, std::string conninfo, callback cb,
               std::chrono::milliseconds timeout);
  struct loop;
  void deliver(const log_position& p);

  boost::asio::any_io_executor ex_;
  std::string conninfo_;
  callback on_advance_;
  std::chrono::milliseconds connect_timeout_;
  log_position position_;
  bool stopped_ = false;
  std::function<void()> cancel_;
};

}  // namespace fieldsync::storage
