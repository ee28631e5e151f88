#pragma once
// Follows the change log's high-water mark on any node: LISTEN fieldsync_log on a storage
// connection (the ingest leader notifies "<epoch> <high LSN>" with each commit), with
// reconnects. After every (re)connect it reads the state once, after LISTEN, so a
// notification missed while disconnected is never lost: the subscribers see every advance,
// possibly merged.
//
// One per node (the app owns it): the fan-out hub, the pulls' long-polls and the mutation
// path's version waiter subscribe to it, so the node holds one LISTEN connection. Other
// channels ride on the same connection (listen()): the admin API's cluster-wide
// disconnects, for instance. Their notifications are not replayed after a reconnect.
//
// No wait is unbounded: a LISTEN wait ends after check_interval with a read of the state
// (bounded by the operation timeout), so a connection that went quiet without failing
// is noticed and replaced, and an advance whose notification went missing is delivered.
//
// Concurrency contract: lives on one executor; the subscribers' callbacks run there.
// subscribe, start and stop are called there.

#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
                                              std::string storage_conninfo,
                                              log_listener_options options);
  // With one subscriber from the start.
  static std::shared_ptr<log_listener> create(boost::asio::any_io_executor ex,
                                              std::string storage_conninfo, callback on_advance,
                                              log_listener_options options);
  // With one subscriber, and the default options but the connect timeout.
  static std::shared_ptr<log_listener> create(boost::asio::any_io_executor ex,
                                              std::string storage_conninfo, callback on_advance,
                                              std::chrono::milliseconds connect_timeout);
  // `on_advance` hears every advance from now on, for the listener's life: a subscriber
  // that may go first holds itself weakly in it. An advance heard before is position().
  // Not from inside a callback.
  void subscribe(callback on_advance);
  // Also LISTENs to `channel` (a plain identifier, not fieldsync_log) and hands each
  // notification's payload to `on_payload`. Before start().
  using payload_callback = std::function<void(std::string_view payload)>;
  void listen(std::string channel, payload_callback on_payload);
  void start();
  void stop();
  // The last position seen; epoch 0 before the first.
  const log_position& position() const noexcept { return position_; }

 private:
  log_listener(boost::asio::any_io_executor ex, std::string conninfo,
               log_listener_options options);
  struct loop;
  void deliver(const log_position& p);
  void deliver_payload(const std::string& channel, std::string_view payload);

  boost::asio::any_io_executor ex_;
  std::string conninfo_;
  std::vector<callback> subscribers_;
  std::vector<std::pair<std::string, payload_callback>> channels_;
  log_listener_options options_;
  log_position position_;
  bool stopped_ = false;
  std::function<void()> cancel_;
};

}  // namespace fieldsync::storage
