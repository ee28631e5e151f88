#pragma once
// Durations are typed (std::chrono::milliseconds; the file's keys end in _ms), counts and
// sizes are std::size_t: the loader checked their ranges, so users convert nothing.
//
// The configuration's values, as every part of the server reads them. server/app/config_file.hpp
// loads them (one TOML file, every key overridable by FIELDSYNC_<SECTION>_<KEY>);
// docs/config.md is the reference; config/fieldsync.toml the documented example.

#include "conflicts/merge_config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fieldsync::server {

struct server_config {
  std::string listen = "0.0.0.0:8080";
  std::string admin_listen = "127.0.0.1:9090";
  std::string admin_token;  // empty: admin endpoints other than health checks answer 403
  std::size_t max_connections = 10000;
  // The admin listener's own budget: a flood of the public port never locks operators out.
  std::size_t admin_max_connections = 64;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds keepalive_timeout{60'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  // On SIGTERM, how long the node keeps serving with /readyz failing before it closes its
  // connections: the time its load balancer needs to stop sending it clients.
  std::chrono::milliseconds drain_delay{0};
  // A directory served at / on the public listener for paths the API does not own (the
  // PWA); empty: none. `fieldsync dev` looks for the built app when it is empty.
  std::string static_dir;
  // This node in the cluster view (/admin/v1/cluster); empty: the host name.
  std::string node_name;
  // How often this node renews its row in fieldsync.nodes; 3 missed ones make it "down".
  std::chrono::milliseconds heartbeat_interval{5'000};
};

struct websocket_config {
  std::size_t max_message_bytes = 1024 * 1024;
  std::size_t send_queue_messages = 1024;
  std::size_t send_queue_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  bool permessage_deflate = true;
  std::size_t batch_bytes = 64 * 1024;  // queued messages sent as one batch; 0: never
  // Live subscriptions (docs/protocol.md, "Subscriptions").
  std::chrono::milliseconds auth_timeout{10'000};  // hello must arrive within this
  std::size_t max_subscriptions_per_session = 100;
  std::size_t max_sessions_per_user = 20;   // per node, by the token's sub
  std::vector<std::string> allowed_origins;  // empty: same origin only; "*": any
  std::size_t snapshot_batch_rows = 500;
  std::size_t fanout_read_changes = 2000;  // log entries per read of the hub and of catch-ups
  // Subscription starts waiting for a slot, node-wide; beyond it a subscribe is refused
  // (retryable). Waiting starts are served round-robin by user.
  std::size_t max_queued_starts = 20'000;
  // A start whose client reads nothing for this long gives its slot back.
  std::chrono::milliseconds start_stall_timeout{10'000};
};

struct database_config {
  std::string dsn;  // libpq conninfo or URI of the source database; required for `serve`
  std::string storage_dsn;  // fieldsync's own schema (change log); empty: the source database
  std::size_t pool_size = 8;
  std::chrono::milliseconds connect_timeout{5'000};
  // Deadlines of every wait on PostgreSQL (docs/config.md, [database]).
  std::chrono::milliseconds acquire_timeout{10'000};               // for a free pooled connection
  std::chrono::milliseconds query_timeout{60'000};                 // for one operation's answer; 0: none
  std::chrono::milliseconds lock_timeout{10'000};                  // every session's lock_timeout; 0: none
  std::chrono::milliseconds idle_in_transaction_timeout{120'000};  // idle_in_transaction_session_timeout
  std::chrono::milliseconds listen_check_interval{10'000};  // LISTEN waits end to check the connection
  std::chrono::milliseconds statement_timeout{
      30'000};  // every pooled session's statement_timeout; 0: none
};

// The change feed: logical replication from the source into the change log.
struct replication_config {
  bool ingest = true;  // this node competes for ingest leadership
  std::string slot = "fieldsync";
  std::string publication = "fieldsync";
  std::chrono::milliseconds status_interval{10'000};
  std::chrono::milliseconds heartbeat_interval{10'000};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  std::chrono::milliseconds leader_retry{1'000};
  std::size_t max_transaction_bytes = 64LL << 20;
  std::size_t batch_max_changes = 20'000;
  std::size_t batch_max_bytes = 16LL << 20;
};

// Retention of the change log.
struct changelog_config {
  std::chrono::milliseconds history{7LL * 24 * 3600 * 1000};    // superseded versions and deletes
  std::chrono::milliseconds tombstone{7LL * 24 * 3600 * 1000};  // deleted rows' last versions
  std::chrono::milliseconds compaction_interval{60'000};
};

// HTTP delta pulls, row history and the Shape API (docs/protocol.md, "Delta pulls").
struct pulls_config {
  std::chrono::milliseconds long_poll_timeout{20'000};  // live=true waits this long for a change
  std::size_t default_limit = 1000;           // changes or rows per page without limit=
  std::size_t max_limit = 10'000;             // the largest limit= accepted
  std::size_t max_page_bytes = 4LL << 20;     // rows per page at most, roughly, in bytes
  std::size_t max_scan_changes = 100'000;     // log entries one request reads at most
  std::size_t cache_bytes = 64LL << 20;       // recently computed answers kept
  std::chrono::milliseconds cache_ttl{1'000};           // an unchanged log's answer is reused this long
  std::size_t shape_chunk_rows = 10'000;      // Shape API: snapshot rows per response
  std::size_t max_long_polls_per_user =
      16;  // waiting live=true requests per token subject, per node
};

struct log_config {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text | json
};

// A key that signs bearer tokens, from [auth.keys.<kid>].
struct jwt_key_config {
  std::string kid;  // the table name
  std::string alg;  // HS256, RS256 or ES256: pinned, never taken from the token
  std::string secret;           // HS256
  std::string public_key_file;  // RS256, ES256: PEM
};

struct auth_config {
  std::string issuer;    // expected "iss"; empty: not checked
  std::string audience;  // expected "aud"; empty: not checked
  std::chrono::milliseconds leeway{30'000};
  std::size_t max_token_bytes = 8192;
  // Tokens issued (iat) longer ago than this are refused; 0: no limit (exp alone decides).
  std::chrono::milliseconds max_token_age{0};
  // How often a node rereads the deny list (revoked subjects and token ids) from storage;
  // the node that takes a revocation applies it at once.
  std::chrono::milliseconds revocation_refresh{5'000};
  std::vector<jwt_key_config> keys;
};

// [collections.<name>.merge] and [collections.<name>.merge.fields]: how the collection
// merges concurrent edits (docs/merge.md). Names are checked against the strategy registry
// at load time and against the table's columns and types at start-up.
struct merge_settings {
  std::string default_strategy = "lww";   // key `default`
  std::string update_deleted = "delete-wins";
  std::string delete_changed = "reject";
  std::string insert_existing = "reject";
  std::map<std::string, std::string> fields;  // column -> strategy
};

// A synced table, from [collections.<name>].
struct collection_config {
  std::string name;                      // the table name; what clients subscribe to
  std::string table;                     // "schema.table" or "table"; defaults to the name
  std::vector<std::string> primary_key;  // required
  std::vector<std::string> columns;      // empty: every column of the table
  std::string read_scope;                // filter over row columns and $claims
  std::string write_scope;
  bool is_public = false;                // readable by every authenticated user
  merge_settings merge;
  // Columns a client may set; empty: every column. Key columns are always writable on insert.
  std::vector<std::string> writable_columns;
  // Columns the server sets, never the client: column -> "$claims.<name>" (set on insert,
  // refused when a client sends another value) or "now()" (set on every write).
  std::map<std::string, std::string> server_set;
};

// The merge module's view of a collection's [merge] settings (validated at load time).
conflicts::merge_config merge_config_of(const collection_config& c);

// Client writes: POST /v1/mutations and the WebSocket push (docs/protocol.md "Mutations").
struct mutations_config {
  std::size_t max_batch = 1000;           // mutations per batch
  std::size_t max_queued_pushes = 8;      // WebSocket pushes waiting per session
  std::size_t max_value_bytes = 64 * 1024;  // one value's PostgreSQL text
  std::int64_t result_retention = 1000;    // results kept per client for retries
  // Client ids unused this long are forgotten (with their results); a subject keeps at most
  // max_clients_per_subject, the least recently used going first.
  std::chrono::milliseconds client_retention{30LL * 24 * 3600 * 1000};
  std::size_t max_clients_per_subject = 100;
  std::chrono::milliseconds version_wait{2000};     // wait for the change log to name a write's version
  std::chrono::milliseconds lock_timeout{5000};     // wait for a row another transaction holds
  std::chrono::milliseconds max_clock_drift{60'000};  // how far ahead of ours a client's clock may be
  std::chrono::milliseconds conflict_retention{30LL * 24 * 3600 * 1000};  // recorded conflicts
};

struct dev_config {
  std::int64_t demo_seed = 20261124;
  double demo_scale = 1.0;
  std::chrono::milliseconds etl_interval{5'000};  // 0 disables the demo KPI job
  std::chrono::milliseconds insights_interval{5'000};  // 0: the insights are computed once, at start
};


struct config {
  server_config server;
  websocket_config websocket;
  database_config database;
  replication_config replication;
  changelog_config changelog;
  pulls_config pulls;
  log_config log;
  auth_config auth;
  std::vector<collection_config> collections;
  dev_config dev;
  mutations_config mutations;
};

// The storage DSN in effect: storage_dsn, or the source's when it is empty.
inline const std::string& storage_dsn(const config& c) {
  return c.database.storage_dsn.empty() ? c.database.dsn : c.database.storage_dsn;
}

// A configuration problem, as one line that names the file, line and key (or the
// environment variable) at fault. `fieldsync` prints it and exits with code 2.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace fieldsync::server
