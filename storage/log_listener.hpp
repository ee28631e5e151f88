#pragma once
// Follows the change log's high-water mark on any node: LISTEN fieldsync_log on a storage
// connection (the ingest leader notifies "<epoch> <high LSN>" with each commit), with
// reconnects. After every (re)connect it reads the state once, after LISTEN, so a
// notification missed while disconnected is never lost: the callback sees every advance,
// possibly merged.
//
// No wait is unbounded: a LISTEN wait ends after check_interval with a read of the state
// (bounded by the operation timeout), so a connection that went quiet without failing
// is noticed and replaced, and an advance whose notification went missing is delivered.
//
// Concurrency contract: lives on one executor; the callback runs there. start and stop
// are called there.

#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

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

struct log_listener_options {
  std::chrono::milliseconds connect_timeout{5000};
  // The longest a LISTEN wait lasts before the state is read again (see above).
  std::chrono::milliseconds check_interval{10'000};
  // Reconnects back off from the first to the second, doubling.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2000};
  pg_session_limits session;
};

class log_listener : public std::enable_shared_from_this<log_listener> {
 public:
  using callback = std::function<void(const log_position&)>;

  static std::shared_ptr<log_listener> create(boost::asio::any_io_executor ex,
                                              std::string storage_conninfo, callback on_advance,
                                              log_listener_options options);
  // With the default options but the connect timeout.
  static std::shared_ptr<log_listener> create(boost::asio::any_io_executor ex,
                                              std::string storage_conninfo, callback on_advance,
                                              std::chrono::milliseconds connect_timeout);
  void start();
  void stop();
  // The last position seen; epoch 0 before the first.
  const log_position& position() const noexcept { return position_; }

 private:
  log_listener(boost::asio::any_io_executor ex, std::string conninfo, callback cb,
               log_listener_options options);
  struct loop;
  void deliver(const log_position& p);

  boost::asio::any_io_executor ex_;
  std::string conninfo_;
  callback on_advance_;
  log_listener_options options_;
  log_position position_;
  bool stopped_ = false;
  std::function<void()> cancel_;
};

}  // namespace fieldsync::storage
