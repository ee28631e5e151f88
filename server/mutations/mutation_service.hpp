#pragma once
// Client writes (DESIGN.md "Data flow" 7; docs/mutations.md): one batch of a client's
// mutations, applied exactly once in one transaction on the source database, each merged
// with concurrent edits by the collection's policies (conflicts/), each answered applied,
// merged, rejected or duplicate. POST /v1/mutations (server/mutations/mutation_routes.cpp)
// and the WebSocket `push` (server/mutations/ws_push.cpp) both call async_apply and turn its
// mutation_reply into their own answers.
//
// Per batch: plan it (server/mutations/mutation_plan.hpp: every check that needs no
// database, nothing read yet); then one transaction: pipeline 1 (one round trip) begins,
// locks the client's row (concurrent batches of one client queue here), reads the stored
// results of ids already answered, locks and reads the rows, their clocks and (same
// database) the log's versions of them; the decision (server/mutations/mutation_decide.hpp,
// pure: the merges) runs on what it read; pipeline 2 (one round trip) emits each writing
// mutation's origin message right before its write, records clocks, results and conflicts,
// advances the client's last id and commits. A write the database refuses (a unique or
// foreign key, a check, a trigger) rejects that mutation with constraint_violation and the
// batch runs again without it; deadlocks and serialization failures run it again as it was.
//
// Concurrency contract: lives on the app's io_context; async_apply may run for many batches
// at once (each on its own pooled connection); all state here is touched on that executor.

#include "conflicts/merge_config.hpp"
#include "conflicts/strategy_registry.hpp"
#include "protocol/mutation_check.hpp"
#include "protocol/mutation_request.hpp"
#include "server/access/authenticator.hpp"
#include "server/access/collection_registry.hpp"
#include "server/mutations/column_rules.hpp"
#include "server/mutations/mutation_fault.hpp"
#include "server/mutations/mutation_reply.hpp"
#include "storage/commit_version_waiter.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fieldsync::server {

struct mutation_options {
  protocol::batch_limits batch;
  protocol::mutation_limits values;
  std::int64_t result_retention = 1000;
  std::chrono::milliseconds version_wait{2000};
  std::chrono::milliseconds lock_timeout{5000};
  std::chrono::milliseconds max_clock_drift{60'000};
  std::chrono::milliseconds conflict_retention{30LL * 24 * 3600 * 1000};
  std::chrono::milliseconds clock_retention{7LL * 24 * 3600 * 1000};  // deleted rows' clocks
  // Client ids unused this long are forgotten with their results; a subject keeps at most
  // max_clients_per_subject (a new one evicts its least recently used).
  std::chrono::milliseconds client_retention{30LL * 24 * 3600 * 1000};
  std::int64_t max_clients_per_subject = 100;
  std::map<std::string, column_rules_config> columns;  // by collection: writable and server-set
  // The node's: the versions of committed batches (the service stops it with itself).
  std::shared_ptr<storage::commit_version_waiter> versions;
  bool storage_is_source = true;  // the change log is in the source database
  mutation_fault_hook after_commit;  // tests only (server/mutations/mutation_fault.hpp)
};

class mutation_service;

// The service, or null while the server is still starting (it is made during start-up,
// after the routes).
using mutation_service_source = std::function<std::shared_ptr<mutation_service>()>;

class mutation_service : public std::enable_shared_from_this<mutation_service> {
 public:
  // Applies the mutation schema's migrations to the source database and checks every
  // collection's merge config against its table. Throws std::runtime_error (one line) when
  // either fails.
  static boost::asio::awaitable<std::shared_ptr<mutation_service>> async_create(
      boost::asio::any_io_executor ex, std::shared_ptr<storage::pg_pool> source,
      std::shared_ptr<storage::pg_pool> storage, const collection_registry& collections,
      std::map<std::string, conflicts::merge_config> merges, mutation_options options);

  // `batch` is the request's JSON ({"client_id", "mutations"}; "type" and "id" are ignored).
  // Accepted: {"client_id", "last_mutation_id", "results": [...]}. Refused: nothing was
  // recorded (mutation_gap details "expected_mutation_id"). Never throws.
  boost::asio::awaitable<mutation_reply> async_apply(const principal& who,
                                                     const boost::json::value& batch);

  // Recorded conflicts, newest first ({"conflicts": [...], "next_before": id|null}).
  boost::asio::awaitable<mutation_reply> async_list_conflicts(std::int64_t before,
                                                              std::int64_t limit,
                                                              const std::string& collection,
                                                              const std::string& client_id);

  void stop();

 private:
  class attempt;          // one try of a batch's transaction
  struct committed_batch;  // what a try that committed hands to the answer
  mutation_service(boost::asio::any_io_executor ex, std::shared_ptr<storage::pg_pool> source,
                   std::shared_ptr<storage::pg_pool> storage,
                   const collection_registry& collections,
                   std::map<std::string, conflicts::merge_config> merges, mutation_options options);
  boost::asio::awaitable<void> prune_loop();
  // After the commit, with the connection back in the pool: the versions the writes made
  // and those of the duplicates' originals.
  boost::asio::awaitable<mutation_reply> async_answer(const std::string& client_id, committed_batch done);
  boost::asio::awaitable<void> async_duplicate_versions(committed_batch& done);

  boost::asio::any_io_executor ex_;
  std::shared_ptr<storage::pg_pool> source_;
  std::shared_ptr<storage::pg_pool> storage_;
  const collection_registry& collections_;
  std::map<std::string, conflicts::merge_config> merges_;
  std::map<std::string, column_rules, std::less<>> column_rules_;  // checked against the tables
  conflicts::strategy_registry registry_;
  mutation_options options_;
  std::shared_ptr<storage::commit_version_waiter> versions_;
  boost::asio::steady_timer prune_timer_;
  bool commit_times_ = false;  // track_commit_timestamp is on
  bool log_ready_ = false;     // the change log's tables exist (storage in the source database)
  bool stopped_ = false;
};

}  // namespace fieldsync::server
