#pragma once
// A non-blocking libpq connection driven by an Asio executor.
//
// Concurrency contract: a pg_connection lives on the executor it was created with and is
// used from that executor only. One operation is in flight at a time; starting a second
// one fails with pg_errc::busy instead of corrupting the protocol state. No call blocks:
// every wait is an async_wait on PQsocket, re-read after each connect step because libpq
// may open a new socket (for example when it tries the next host).

#include "storage/pg_error.hpp"
#include "storage/pg_params.hpp"
#include "storage/pg_result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>
#include <string>
#include <string_view>

namespace fieldsync::storage {

// One statement of a pipeline: parameterised SQL, text parameters.
struct pg_statement {
  std::string sql;
  pg_params params;
};

// Why a pipeline failed: the statement the server refused (its index in the pipeline), or
// the connection (index is then the number of statements). The statements after a refused
// one were skipped by the server.
struct pg_pipeline_error {
  std::size_t index = 0;
  pg_error error;
};

struct pg_notification {
  std::string channel;
  std::string payload;
  int backend_pid = 0;
};

class pg_connection {
 public:
  using executor_type = boost::asio::any_io_executor;

  // Connects with the libpq conninfo string or URI. Fails with connect_timeout when the
  // server does not complete the handshake in time (an unreachable host never hangs).
  // `extra` keyword/value pairs override the conninfo's (e.g. {"replication", "database"}).
  static boost::asio::awaitable<pg_outcome<std::unique_ptr<pg_connection>>> async_connect(
      executor_type ex, std::string conninfo, std::chrono::milliseconds timeout,
      std::vector<std::pair<std::string, std::string>> extra = {});

  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  // One statement with parameters (extended protocol), text results.
  boost::asio::awaitable<pg_outcome<pg_result>> async_query(std::string_view sql,
                                                            const pg_params& params = {});

  // Sends every statement at once in pipeline mode, with one Sync at the end, and returns
  // each statement's result in order: one round trip for the lot. After a statement fails
  // the server skips the rest; the error names the first failed statement. Statements run
  // in the session's transaction state (send BEGIN as the first one for a transaction; a
  // failure inside it leaves the transaction aborted until the caller sends ROLLBACK).
  boost::asio::awaitable<boost::system::result<std::vector<pg_result>, pg_pipeline_error>>
  async_pipeline(const std::vector<pg_statement>& statements);

  // One or more statements without parameters (simple protocol); the last result is kept.
  boost::asio::awaitable<pg_outcome<pg_result>> async_exec(std::string_view sql);

  // COPY ... FROM STDIN. `next_chunk` fills its argument with the next piece of COPY data
  // and returns false when there is no more. Returns the number of rows copied.
  using copy_source = std::function<bool(std::string& chunk)>;
  boost::asio::awaitable<pg_outcome<long>> async_copy_in(std::string_view copy_sql,
                                                         copy_source next_chunk);
  // COPY ... FROM STDIN of `data`, sent from the caller's buffer (which it may reuse once
  // this completes: a writer that fills one buffer batch after batch allocates it once).
  boost::asio::awaitable<pg_outcome<long>> async_copy_in(std::string_view copy_sql,
                                                         std::string_view data);

  // COPY BOTH, for the streaming-replication protocol: a statement such as
  // START_REPLICATION that the server answers with CopyBothResponse.
  boost::asio::awaitable<pg_outcome<void>> async_start_copy_both(std::string_view sql);

  // The next CopyData message of a COPY OUT/BOTH stream, or nullopt when `deadline` passes
  // first. Fails with pg_errc::copy_ended when the server ended the stream, carrying the
  // server's error when it ended with one.
  boost::asio::awaitable<pg_outcome<std::optional<std::string>>> async_read_copy_data(
      std::chrono::steady_clock::time_point deadline);

  // Queues and flushes one CopyData message of a COPY BOTH stream.
  boost::asio::awaitable<pg_outcome<void>> async_write_copy_data(std::string_view data);

  // Sends CopyDone and reads until the server has finished the COPY.
  boost::asio::awaitable<pg_outcome<void>> async_end_copy();

  // Waits until at least one LISTEN notification is queued (only while no other operation
  // is in flight), then returns them all. Notifications that arrive during other
  // operations are queued as well.
  boost::asio::awaitable<pg_outcome<std::deque<pg_notification>>> async_wait_notifications();

  // False once the connection broke; a pool discards such connections.
  bool is_ok() const noexcept;
  int backend_pid() const noexcept;
  const executor_type& get_executor() const noexcept;
  PGconn* native() const noexcept;

  // Interrupts the operation in flight, if any: it completes with operation_aborted.
  void cancel();

 private:
  struct impl;
  explicit pg_connection(std::shared_ptr<impl> p);
  // Both async_copy_in: `next` points `piece` at the next data (in `scratch` or elsewhere)
  // and returns false when there is no more.
  using copy_views = std::function<bool(std::string_view& piece, std::string& scratch)>;
  boost::asio::awaitable<pg_outcome<long>> copy_in(std::string_view copy_sql, copy_views next);
  // Shared with the operation in flight, which holds it across its suspensions: a
  // connection destroyed mid-operation cancels the operation instead of freeing the state
  // under it.
  std::shared_ptr<impl> impl_;
};

}  // namespace fieldsync::storage
