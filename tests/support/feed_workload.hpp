#pragma once
// A write workload for the change-feed tests and the truth to check the log against.
//
// Two synced tables (items: bigint key with a TOASTed column; pairs: a composite key) and
// one unsynced table (noise). Audit triggers record, in the writer's own transaction, each
// row change with the transaction's xid and its order: whatever commits is in the audit,
// whatever aborts (a connection killed mid-commit included) is not. check_feed compares
// the change log with it transaction by transaction, and the log's current rows with the
// tables.
//
// Test set-up code: blocking libpq on threads of its own, never on a reactor.

#include <atomic>
#include <cstdint>
#include <string>

namespace fieldsync::test {

// The [collections.*] sections that sync the workload's tables.
std::string feed_collections_toml();

// Creates the tables, the audit and its triggers.
void create_feed_schema(const std::string& conninfo);

struct workload_options {
  int writers = 4;
  std::uint64_t changes = 100'000;  // row changes in all, roughly
  // One transaction updates this many rows at once (0: none), to exceed the ingest's
  // in-memory limit.
  int big_transaction_rows = 0;
  std::uint64_t seed = 1;
  // Writes to the unsynced table between synced ones (WAL the log does not want).
  bool noise = false;
};

struct workload_report {
  std::uint64_t committed_transactions = 0;
  std::uint64_t failed_transactions = 0;  // lost connections, restarts: outcome per the audit
};

// Runs the writers to completion. Writers survive connection failures (PostgreSQL
// restarts, terminated backends): they reconnect and go on. `stop` ends them early.
workload_report run_feed_workload(const std::string& conninfo, const workload_options& opts,
                                  const std::atomic<bool>* stop = nullptr);

// Writes a marker row and waits until the change log holds it: everything committed
// before is then in the log too. Fails the test after `timeout_s`.
void wait_for_log(const std::string& conninfo, int timeout_s = 120);

// Compares log and audit, rows and tables; fails the test with the first differences.
// Returns the number of transactions compared.
std::uint64_t check_feed(const std::string& conninfo);

// One value of a one-row, one-column query (blocking; for tests).
std::string query_value(const std::string& conninfo, const std::string& sql);
// Runs statements (blocking; for tests); throws on error.
void exec_sql(const std::string& conninfo, const std::string& sql);

}  // namespace fieldsync::test
