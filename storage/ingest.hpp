#pragma once
// The ingest: one leader per cluster follows the source database's logical replication
// slot and makes every committed change durable in the change log, exactly once.
//
// Leadership is a session advisory lock on the source database; nodes without it retry
// every leader_retry and take over when the leader's session ends. The leader prepares
// (storage schema migrations, publication, slot and epoch, initial loads), then streams:
// pgoutput -> transaction_assembler -> change_log_writer, in batches, confirming to the
// slot only what the log committed. Failures (PostgreSQL restarts, a terminated
// walsender, network errors) end the streaming session; it is retried with exponential
// backoff and jitter and resumes from the stored position. Re-sent transactions (commit
// LSN below the stored resume position) are dropped.
//
// One collection never holds up the others: a collection whose copy fails, or whose
// values the stream cannot convert, is marked failed in the log (readers refuse it with
// that reason, loudly logged at error level) and skipped, and the rest keep flowing. It is
// copied again when fieldsync restarts.
//
// Slot hygiene: every heartbeat_interval the leader emits a non-transactional logical
// message; when it arrives and nothing is pending, the resume position moves to it, so
// the slot advances (and releases WAL) even when no published table changes.
//
// Concurrency contract: runs on the executor it is made with (`fieldsync serve` gives it
// an io_context and a thread of its own, so the fan-out never delays the log; see
// docs/fanout.md). start, request_stop, async_stop, stopped and status may be called from
// any thread.

#include "protocol/collection_schema.hpp"
#include "protocol/lsn.hpp"
#include "storage/log_state.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fieldsync::storage {

struct ingest_options {
  std::string source_conninfo;
  std::string storage_conninfo;
  std::string slot = "fieldsync";
  std::string publication = "fieldsync";
  std::vector<protocol::collection_schema> collections;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds status_interval{10'000};
  std::chrono::milliseconds heartbeat_interval{10'000};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  // Every connection's limits. The set-up of a streaming session (migrations, initial
  // copies) runs without the client-side operation timeout: it may take long for good.
  pg_session_limits session;
  std::chrono::milliseconds leader_retry{1'000};
  // How a new epoch's reset waits for readers of the log (storage/log_state.hpp).
  epoch_reset_options epoch_reset;
  std::size_t max_transaction_bytes = 64u << 20;
  std::size_t batch_max_changes = 20'000;
  std::size_t batch_max_bytes = 16u << 20;
  // Called (on the ingest's executor) when a collection cannot be copied or one of its
  // values cannot be read: the operator's alarm (a metric). Optional.
  std::function<void(const std::string& collection, const std::string& message)>
      on_collection_failed;
  // Called (on the ingest's executor) for each transaction decoded that the log will store,
  // before it is written: its xid and commit LSN (the node's mutation path learns its
  // versions from it, storage/commit_version_waiter.hpp). Cheap and thread-safe. Optional.
  std::function<void(std::uint32_t xid, protocol::lsn commit)> on_decoded;
};

struct ingest_status {
  std::string phase = "starting";  // waiting, preparing, streaming, retrying, stopped
  bool leader = false;
  std::int64_t epoch = 0;
  protocol::lsn resume;     // confirmed to the slot
  protocol::lsn high;       // the log's high-water mark
  std::uint64_t transactions = 0;  // stored since start
  std::uint64_t changes = 0;
  double changes_per_second = 0;   // over the last few seconds
  std::uint64_t restarts = 0;      // streaming sessions that failed
  std::uint64_t epochs_started = 0;
  std::string epoch_reason;  // why this process last started an epoch (empty: first start)
  std::string last_error;
  std::chrono::system_clock::time_point last_error_at{};
  std::chrono::system_clock::time_point leader_since{};
  // Collections this process could not copy, or met a value of it could not read: they
  // are skipped (every reader refuses them with the reason) until fieldsync restarts.
  // Name -> the reason, which names the table and the column.
  std::map<std::string, std::string> failed_collections;
};

class ingest : public std::enable_shared_from_this<ingest> {
 public:
  static std::shared_ptr<ingest> create(boost::asio::any_io_executor ex, ingest_options opts);
  ~ingest();

  void start();
  // Ends streaming (CopyDone after the pending batch), gives up leadership, returns when
  // the ingest has stopped.
  boost::asio::awaitable<void> async_stop();
  // Stops without waiting (shutdown paths that cannot await); stopped() tells when done.
  void request_stop();
  bool stopped() const noexcept;

  // A copy, consistent as a whole.
  ingest_status status() const;
  const ingest_options& options() const noexcept;

  struct impl;  // defined in ingest.cpp

 private:
  explicit ingest(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

}  // namespace fieldsync::storage
