#pragma once
// The configuration: one TOML file, every key overridable by FIELDSYNC_<SECTION>_<KEY>.
// docs/config.md is the reference; config/fieldsync.toml the documented example.

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
  std::int64_t max_connections = 10000;
  std::int64_t max_header_bytes = 16 * 1024;
  std::int64_t max_body_bytes = 1024 * 1024;
  std::int64_t request_timeout_ms = 30'000;
  std::int64_t keepalive_timeout_ms = 60'000;
  std::int64_t shutdown_timeout_ms = 10'000;
};

struct websocket_config {
  std::int64_t max_message_bytes = 1024 * 1024;
  std::int64_t send_queue_messages = 1024;
  std::int64_t send_queue_bytes = 8 * 1024 * 1024;
  std::int64_t handshake_timeout_ms = 10'000;
  std::int64_t idle_timeout_ms = 60'000;
  bool permessage_deflate = true;
  // Live subscriptions (docs/protocol.md, "Subscriptions").
  std::int64_t auth_timeout_ms = 10'000;  // hello must arrive within this
  std::int64_t max_subscriptions_per_session = 100;
  std::int64_t max_sessions_per_user = 20;   // per node, by the token's sub
  std::vector<std::string> allowed_origins;  // empty: same origin only; "*": any
  std::int64_t snapshot_batch_rows = 500;
  std::int64_t fanout_read_changes = 2000;  // log entries per read of the hub and of catch-ups
};

struct database_config {
  std::string dsn;  // libpq conninfo or URI of the source database; required for `serve`
  std::string storage_dsn;  // fieldsync's own schema (change log); empty: the source database
  std::int64_t pool_size = 8;
  std::int64_t connect_timeout_ms = 5'000;
};

// The change feed: logical replication from the source into the change log.
struct replication_config {
  bool ingest = true;  // this node competes for ingest leadership
  std::string slot = "fieldsync";
  std::string publication = "fieldsync";
  std::int64_t status_interval_ms = 10'000;
  std::int64_t heartbeat_interval_ms = 10'000;
  std::int64_t reconnect_min_ms = 500;
  std::int64_t reconnect_max_ms = 30'000;
  std::int64_t leader_retry_ms = 1'000;
  std::int64_t max_transaction_bytes = 64LL << 20;
  std::int64_t batch_max_changes = 20'000;
  std::int64_t batch_max_bytes = 16LL << 20;
};

// Retention of the change log.
struct changelog_config {
  std::int64_t history_ms = 7LL * 24 * 3600 * 1000;    // superseded versions and deletes
  std::int64_t tombstone_ms = 7LL * 24 * 3600 * 1000;  // deleted rows' last versions
  std::int64_t compaction_interval_ms = 60'000;
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
  std::int64_t leeway_ms = 30'000;
  std::int64_t max_token_bytes = 8192;
  std::vector<jwt_key_config> keys;
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
};

struct dev_config {
  std::int64_t demo_seed = 20261124;
  double demo_scale = 1.0;
  std::int64_t etl_interval_ms = 5'000;  // 0 disables the demo KPI job
};


struct config {
  server_config server;
  websocket_config websocket;
  database_config database;
  replication_config replication;
  changelog_config changelog;
  log_config log;
  auth_config auth;
  std::vector<collection_config> collections;
  dev_config dev;
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

using environment = std::map<std::string, std::string>;

// The FIELDSYNC_* variables of the process environment.
environment process_environment();

// Starts from `defaults`, applies the TOML file (if any), then the environment.
// `require_dsn` is false for `fieldsync dev`, which supplies its own database.
config load_config(const std::optional<std::filesystem::path>& file, const environment& env,
                   const config& defaults = {}, bool require_dsn = true);

}  // namespace fieldsync::server
