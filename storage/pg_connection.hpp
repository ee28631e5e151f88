#pragma once
// A non-blocking libpq connection driven by an Asio executor.
//
// Concurrency contract: a pg_connection lives on the executor it was created with and is
// used from that executor only. One operation is in flight at a time; starting a second
// one fails with pg_errc::busy instead of corrupting the protocol state. No call blocks:
// every wait is an async_wait on the connection's socket.
//
// Descriptor ownership (the invariants that keep connections from going deaf):
//   1. libpq owns its socket, PQsocket, and closes it whenever it decides to: when the
//      server drops the connection (inside PQconsumeInput, PQflush, PQgetResult, ...),
//      when a connect attempt moves on to another address, and in PQfinish. Its number
//      may then be given to the next socket the process opens, another connection's.
//   2. So the reactor never watches libpq's descriptor. It watches a duplicate (dup) that
//      this class owns and alone closes; closing it removes its registration by number,
//      which is safe only because nobody else can have been given that number meanwhile.
//      Releasing a registration under libpq's number after libpq closed it would remove
//      whatever socket got the number since, from the epoll set: that connection would
//      wait forever (issue 11).
//   3. The duplicate is closed as soon as the connection is known to be broken, and
//      always before PQfinish: a dead connection holds no registration and no socket.
//   4. After each connect step the duplicate is compared with PQsocket by socket
//      identity (device and inode), never by number, and replaced when libpq switched
//      sockets.
//
// Deadlines: every operation but the idle waits (async_wait_notifications,
// async_read_copy_data, which take deadlines of their own) fails with
// pg_errc::operation_timeout when it has no complete answer within the connection's
// operation timeout; the connection is broken then (its protocol state is unknown), and
// closing it makes the server end the backend's transaction.

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
  // The text is one the server runs again and again (the mutation path's): the session
  // prepares it at its second use and executes it by name from then on, which saves the
  // parse and the plan of each run. PostgreSQL replans a prepared statement whose tables
  // changed, except when its result's row type changed (0A000): that fails once, as
  // stale_prepared (docs/operations.md, "Prepared statements").
  bool preparable = false;
};

// Why a pipeline failed: the statement the server refused (its index in the pipeline), or
// the connection (index is then the number of statements). The statements after a refused
// one were skipped by the server.
struct pg_pipeline_error {
  std::size_t index = 0;
  pg_error error;
  // The server had lost a statement this session prepared (a DISCARD, a pooler that
  // switched backends) or its plan no longer fitted the tables (0A000, "cached plan must
  // not change result type"). The session has forgotten it: the same pipeline, sent again,
  // prepares it anew.
  bool stale_prepared = false;
};

struct pg_notification {
  std::string channel;
  std::string payload;
  int backend_pid = 0;
};

// The limits a session runs with (docs/config.md, [database]).
struct pg_session_limits {
  // Client side: the longest an operation may wait for its complete answer; 0: no limit.
  std::chrono::milliseconds operation_timeout{0};
  // Server side, sent as the session's settings when connecting; nullopt leaves the
  // server's own. 0 means no limit, as in PostgreSQL.
  std::optional<std::chrono::milliseconds> lock_timeout;
  std::optional<std::chrono::milliseconds> idle_in_transaction_timeout;
};

class pg_connection {
 public:
  using executor_type = boost::asio::any_io_executor;

  // Connects with the libpq conninfo string or URI. Fails with connect_timeout when the
  // server does not complete the handshake in time (an unreachable host never hangs).
  // `extra` keyword/value pairs override the conninfo's (e.g. {"replication", "database"}).
  // The session is named `fieldsync` (application_name) unless the conninfo names it.
  static boost::asio::awaitable<pg_outcome<std::unique_ptr<pg_connection>>> async_connect(
      executor_type ex, std::string conninfo, std::chrono::milliseconds timeout,
      std::vector<std::pair<std::string, std::string>> extra = {}, pg_session_limits limits = {});

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
  // A preparable statement goes as Prepare (its second use) and Execute by name.
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
  // is in flight), then returns them all; returns none when `deadline` passes first (the
  // connection stays usable). Notifications that arrive during other operations are
  // queued as well.
  boost::asio::awaitable<pg_outcome<std::deque<pg_notification>>> async_wait_notifications(
      std::chrono::steady_clock::time_point deadline =
          std::chrono::steady_clock::time_point::max());

  // False once the connection broke; a pool discards such connections.
  bool is_ok() const noexcept;
  // For a connection nobody uses: takes in what its socket holds without waiting (a
  // server that went away has sent its FATAL or closed the socket) and returns is_ok().
  bool check_idle();

  // Applies from the next operation on; 0: no limit.
  void set_operation_timeout(std::chrono::milliseconds timeout) noexcept;
  std::chrono::milliseconds operation_timeout() const noexcept;
  int backend_pid() const noexcept;
  const executor_type& get_executor() const noexcept;
  PGconn* native() const noexcept;
  // The descriptor the reactor watches (this connection's duplicate of PQsocket), -1 when
  // none: for tests and diagnostics.
  int reactor_descriptor() const noexcept;

  // Interrupts the operation in flight, if any: it completes with operation_aborted.
  void cancel();

  // How many statements this session holds prepared: for tests and diagnostics.
  std::size_t prepared_count() const noexcept;

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
