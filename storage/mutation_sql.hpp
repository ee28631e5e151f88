#pragma once
// The SQL of the mutation path (docs/mutations.md): the statements a batch transaction
// sends, built here as pg_statements for pipelines, and the readers of their results.
// Identifiers come from the configuration and the catalog and are quoted; every value,
// whatever its origin, is a text parameter (PostgreSQL infers its type from the column it
// is compared with or assigned to, so enums and domains work without casts).
//
// The bookkeeping tables are in schema fieldsync of the SOURCE database
// (storage/mutation_schema.hpp); the log rows and versions come from the change log, in
// the storage database (docs/changelog.md).
//
// Pure functions of their arguments: no I/O here; the caller runs the statements.

#include "protocol/collection_schema.hpp"
#include "protocol/lsn.hpp"
#include "protocol/origin_message.hpp"
#include "storage/mutation_rows.hpp"
#include "storage/pg_connection.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

// --- the batch transaction, first pipeline: lock and read ------------------------------

pg_statement begin_statement();
// SET LOCAL lock_timeout: a row another transaction holds fails the batch (55P03) instead of
// blocking it for as long as that transaction runs.
pg_statement lock_timeout_statement(std::chrono::milliseconds timeout);

// Creates the client on first use (owner = `subject`; nothing when it exists), then locks
// its row: concurrent batches of one client run one after the other, so a retry racing its
// original sees its results. (A lock rather than an upsert: no new row version per batch.)
//
// When it creates the client, the statement also forgets (with their stored results)
// client ids of the same subject beyond `max_per_subject` (the least recently used go), and
// a few ids of anybody unused for `retention` (the periodic prune_clients_statement does
// the rest). Ids a running batch holds are skipped.
pg_statement create_client_statement(const std::string& client_id, const std::string& subject,
                                     std::int64_t max_per_subject,
                                     std::chrono::milliseconds retention);
pg_statement lock_client_statement(const std::string& client_id);
struct client_state {
  std::string owner;
  std::int64_t last_mutation_id = 0;
};
pg_outcome<client_state> read_client(const pg_result& r);

// The stored results of mutation ids first..last of a client.
pg_statement stored_results_statement(const std::string& client_id, std::int64_t first,
                                      std::int64_t last);
pg_outcome<std::vector<stored_result>> read_stored_results(const pg_result& r);

// Locks and reads the rows of `keys` (each: the primary-key columns' PostgreSQL text, in
// key order), in key order so that concurrent batches lock alike and cannot deadlock.
// `commit_times` reads pg_xact_commit_timestamp(xmin) (track_commit_timestamp must be on).
//
// `only`: a condition (SQL over the table's columns, with its parameters numbered after
// the keys' ones) a row must meet to be locked; rows that do not meet it are neither
// locked nor waited for (a batch takes no lock on rows outside its caller's write scope).
struct row_condition {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};
pg_statement lock_rows_statement(const protocol::collection_schema& schema,
                                 const std::vector<std::vector<std::string>>& keys,
                                 bool commit_times, const row_condition* only = nullptr);
// The same rows without locks (a plain read never waits for a row lock); the same shape.
pg_statement read_rows_statement(const protocol::collection_schema& schema,
                                 const std::vector<std::vector<std::string>>& keys,
                                 bool commit_times);
// The number of parameters the keys take in lock_rows_statement (where `only`'s start).
std::size_t key_param_count(const protocol::collection_schema& schema,
                            const std::vector<std::vector<std::string>>& keys);
struct locked_row {
  std::string key;  // canonical (protocol/row_key.hpp)
  boost::json::object row;
  std::uint32_t xmin = 0;                 // the transaction that wrote this version
  std::optional<std::int64_t> commit_ms;  // its commit time, when tracked
};
pg_outcome<std::vector<locked_row>> read_locked_rows(const pg_result& r,
                                                     const protocol::collection_schema& schema,
                                                     bool commit_times);

// The stored clocks of the rows `keys` (canonical) of a collection.
pg_statement clocks_statement(const std::string& collection, const std::vector<std::string>& keys);
pg_outcome<std::vector<stored_clocks>> read_clocks(const pg_result& r);

// --- the change log (storage database) ------------------------------------------------

// The log's latest version of the rows `keys` of a collection, with the xid of the
// transaction that made it while the log still has that change.
pg_statement log_rows_statement(const std::string& collection, const std::vector<std::string>& keys);
pg_outcome<std::vector<log_row>> read_log_rows(const pg_result& r);

// The log's high-water mark (one row, one column: the LSN text).
pg_statement log_high_statement();

// Versions written by transactions `xids` with commit LSN in (after, upto].
pg_statement log_versions_statement(protocol::lsn after, protocol::lsn upto,
                                    const std::vector<std::uint32_t>& xids);
struct xid_version {
  std::uint32_t xid = 0;
  protocol::lsn version;
};
pg_outcome<std::vector<xid_version>> read_log_versions(const pg_result& r);

// The version a past write made, per (collection, key, xid), for duplicates answered later:
// `lookups` is [{"i": n, "c": collection, "k": key, "x": xid}]; rows are (i, version|null).
pg_statement duplicate_versions_statement(const boost::json::array& lookups);

// --- the batch transaction, second pipeline: write and record ---------------------------

// The transactional logical message that names the origin of each of the batch's writes
// (protocol/origin_message.hpp); one per batch, before its first write.
pg_statement origin_statement(const std::string& client_id,
                              const std::vector<protocol::origin_write>& writes);
// `values`: column -> PostgreSQL text (nullopt: NULL); `now_columns` are set to now().
// `check`: a condition (parameters numbered after the values') the row as stored (after
// defaults and triggers) must meet, else the statement fails with SQLSTATE
// outside_write_scope_sqlstate and nothing is inserted.
inline constexpr std::string_view outside_write_scope_sqlstate = "FS403";
pg_statement insert_row_statement(const protocol::collection_schema& schema,
                                  const column_values& values,
                                  const std::vector<std::string>& now_columns = {},
                                  const row_condition* check = nullptr);
pg_statement update_row_statement(const protocol::collection_schema& schema,
                                  const std::vector<std::string>& key, const column_values& values,
                                  const std::vector<std::string>& now_columns = {});
pg_statement delete_row_statement(const protocol::collection_schema& schema,
                                  const std::vector<std::string>& key);

// `clocks`: [{collection, key, own (the row version is this transaction's), xid (else the
// row's xmin), client_id, row_clock, field_clocks, deleted}], one per row.
pg_statement upsert_clocks_statement(const boost::json::array& clocks);
// The results of one batch's new mutations first_id..last_id: [{mutation_id, result,
// collection, key, wrote}], stored as one row.
pg_statement insert_results_statement(const std::string& client_id, std::int64_t first_id,
                                      std::int64_t last_id, const boost::json::array& results);
// `conflicts`: [{collection, key, mutation_id, op, outcome, reason, row_policy, fields}].
pg_statement insert_conflicts_statement(const std::string& client_id, const std::string& subject,
                                        const boost::json::array& conflicts);
// The client's last id (never lowered) and its last use (what retention measures).
pg_statement advance_client_statement(const std::string& client_id, std::int64_t last_mutation_id);
// Drops the stored results of batches that ended at or before `upto` (keeps at least the
// last mutations.result_retention).
pg_statement prune_results_statement(const std::string& client_id, std::int64_t upto);
// The transaction's 32-bit xid: what the change log records for it.
pg_statement current_xid_statement();
pg_outcome<std::uint32_t> read_current_xid(const pg_result& r);
pg_statement commit_statement();

// --- review and retention -------------------------------------------------------------

// Recorded conflicts, newest first, with ids below `before` (0: from the newest).
pg_statement list_conflicts_statement(std::int64_t before, std::int64_t limit,
                                      const std::string& collection, const std::string& client_id);
pg_outcome<boost::json::array> read_conflicts(const pg_result& r);
// Deletes conflicts older than `retention` and clocks of rows deleted longer ago than it.
pg_statement prune_conflicts_statement(std::chrono::milliseconds retention);
pg_statement prune_deleted_clocks_statement(std::chrono::milliseconds retention);
// Forgets up to `limit` client ids unused for `retention`, with their stored results.
pg_statement prune_clients_statement(std::chrono::milliseconds retention, std::int64_t limit);

}  // namespace fieldsync::storage
