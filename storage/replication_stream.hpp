#pragma once
// One logical replication stream from a pgoutput slot (protocol 1, messages on), on the
// reactor: START_REPLICATION over a `replication=database` connection, keepalive replies,
// periodic standby status updates, CopyDone on stop. What it hands out are raw pgoutput
// messages; decoding them is protocol/'s job, and making them durable the change log's.
//
// The flushed position it reports is only ever what the owner confirmed (the resume LSN
// committed in the change log), so the slot never forgets WAL that is not stored yet.
//
// Concurrency contract: lives on one executor; one coroutine drives it (async_next,
// async_send_status and async_stop are not to overlap). Reconnecting after a failure is
// the owner's job: a stream that failed is done.

#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

struct replication_options {
  std::string conninfo;  // an ordinary conninfo; replication=database is added
  std::string slot;
  std::vector<std::string> publications;
  // Status updates at least this often: keep it well inside the server's
  // wal_sender_timeout (60 s by default), which drops a silent consumer.
  std::chrono::milliseconds status_interval{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  pg_session_limits session;
};

// One pgoutput message and where it sits in the WAL.
struct wal_message {
  protocol::lsn wal_start;
  protocol::lsn wal_end;
  std::string payload;
};

class replication_stream {
 public:
  // Connects and starts streaming after `start` (0/0: from the slot's confirmed position).
  static boost::asio::awaitable<pg_outcome<std::unique_ptr<replication_stream>>> async_start(
      boost::asio::any_io_executor ex, replication_options opts, protocol::lsn start);

  // The next pgoutput message, or nullopt once `deadline` passed without one (a deadline
  // in the past polls: it returns what has already arrived). On the way it answers
  // keepalives that ask for a reply and sends a status update whenever status_interval
  // has passed.
  boost::asio::awaitable<pg_outcome<std::optional<wal_message>>> async_next(
      std::chrono::steady_clock::time_point deadline);

  // Interrupts a pending async_next (it fails with operation_aborted); the stream is done.
  void cancel() { conn_->cancel(); }

  // The position that is durably stored; reported as flushed from the next status update.
  // Never goes backwards.
  void confirm(protocol::lsn flushed) noexcept;

  boost::asio::awaitable<pg_outcome<void>> async_send_status(bool reply_requested = false);

  // Sends the last status, then CopyDone, and waits for the server to end the stream.
  boost::asio::awaitable<pg_outcome<void>> async_stop();

  protocol::lsn received() const noexcept { return received_; }
  protocol::lsn confirmed() const noexcept { return confirmed_; }
  protocol::lsn server_wal_end() const noexcept { return server_wal_end_; }
  int backend_pid() const noexcept { return conn_->backend_pid(); }

  // START_REPLICATION's text for these options (publication names quoted).
  static std::string start_sql(const replication_options& opts, protocol::lsn start);

 private:
  replication_stream(std::unique_ptr<pg_connection> conn, replication_options opts);

  std::unique_ptr<pg_connection> conn_;
  replication_options opts_;
  protocol::lsn received_;
  protocol::lsn confirmed_;
  protocol::lsn server_wal_end_;
  std::chrono::steady_clock::time_point next_status_;
};

}  // namespace fieldsync::storage
