#include "storage/log_schema.hpp"

#include <string>

namespace fieldsync::storage {

namespace {

// Positions are pg_lsn (comparable, indexable, printed as X/X). `changes` is append-only
// and holds what the stream delivered, one row per row change; `rows` is the latest
// version of every row (live or tombstone), so a snapshot is one indexed read of it.
constexpr std::string_view migration_1 = R"sql(
CREATE TABLE fieldsync.state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- Changes whenever history is lost (new slot, restored log); cursors carry it.
  epoch bigint NOT NULL,
  slot_name text NOT NULL,
  -- Everything the stream delivered before this position is stored: a transaction whose
  -- commit LSN is below it is a re-send and is dropped. Confirmed to the slot.
  resume_lsn pg_lsn NOT NULL,
  -- The commit LSN of the newest stored transaction: the log's high-water mark.
  high_lsn pg_lsn NOT NULL,
  -- Changes after this position are all still in `changes`; older cursors get "reset".
  horizon_lsn pg_lsn NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fieldsync.collections (
  name text PRIMARY KEY,
  relation text NOT NULL,        -- "schema"."table" as configured when loaded
  columns text[] NOT NULL,
  primary_key text[] NOT NULL,
  epoch bigint NOT NULL,         -- loaded in this epoch
  -- The version given to the loaded rows: above every stored commit when the load ran,
  -- and no change of the collection below it reaches the log afterwards. A cursor of the
  -- collection below it predates the load and gets "reset".
  loaded_lsn pg_lsn NOT NULL,
  -- While set, stream transactions visible in this snapshot (pg_snapshot text) are already
  -- in the loaded rows and are skipped for this collection; cleared once the stream has
  -- passed snapshot_until, after which no such transaction can arrive.
  snapshot text,
  snapshot_until pg_lsn
);

CREATE TABLE fieldsync.changes (
  lsn pg_lsn NOT NULL,           -- commit LSN: the version of the row
  idx integer NOT NULL,          -- position within the transaction
  collection text NOT NULL,
  key text NOT NULL,             -- canonical key text (protocol/row_key.hpp)
  op "char" NOT NULL CHECK (op IN ('i', 'u', 'd')),
  "row" jsonb NOT NULL,          -- new row; for deletes the old row
  old_row jsonb,                 -- updates: the row before
  changed text[],                -- updates: the columns that changed
  commit_time timestamptz NOT NULL,
  xid bigint NOT NULL,
  client_id text,                -- origin, when a fieldsync mutation made the change
  mutation_id bigint,
  client_ts text,
  PRIMARY KEY (lsn, idx)
);
-- "changes of collection C after LSN X" and the history of one row.
CREATE INDEX changes_collection_lsn_idx ON fieldsync.changes (collection, lsn, idx);
CREATE INDEX changes_row_idx ON fieldsync.changes (collection, key, lsn);
-- Compaction finds the cut by time; commit times grow with the append order, which is
-- what BRIN summarises cheaply.
CREATE INDEX changes_commit_time_idx ON fieldsync.changes USING brin (commit_time);

CREATE TABLE fieldsync.rows (
  collection text NOT NULL,
  key text NOT NULL,
  lsn pg_lsn NOT NULL,           -- the row's version
  deleted boolean NOT NULL,      -- a tombstone, kept for changelog.tombstone_ms
  "row" jsonb NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  client_id text,
  mutation_id bigint,
  PRIMARY KEY (collection, key)
) WITH (fillfactor = 80);        -- room for HOT updates: most changes rewrite a row
-- "latest version of every live row of C".
CREATE INDEX rows_live_idx ON fieldsync.rows (collection) WHERE NOT deleted;
CREATE INDEX rows_tombstone_idx ON fieldsync.rows (changed_at) WHERE deleted;
)sql";

// Values in the log are in protocol/value_json.hpp's form; `format` says which version of
// it a collection's rows were copied in (1: before json/jsonb travelled as text and int8
// beyond 2^53 as decimal text). A collection of another format is copied again, so a
// client never sees two spellings of one value. `failure` says why a collection could not
// be copied (readers refuse it, every node alike); the leader tries again when it starts.
constexpr std::string_view migration_2 = R"sql(
ALTER TABLE fieldsync.collections ADD COLUMN format integer NOT NULL DEFAULT 1;
ALTER TABLE fieldsync.collections ADD COLUMN failure text;
)sql";

// The deny list (server/access/revocation_store.hpp): revoked subjects ("sub") and token
// ids ("jti"), read by every node. `until` is when an entry lapses (pruned then); it stays
// within the range a token's times are clamped to (server/access/token_time.hpp).
constexpr std::string_view migration_3 = R"sql(
CREATE TABLE fieldsync.revocations (
  kind text NOT NULL CHECK (kind IN ('sub', 'jti')),
  value text NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  until timestamptz CHECK (until > '1970-01-01 00:00:00+00' AND until < '2200-01-01 00:00:00+00'),
  PRIMARY KEY (kind, value)
);
CREATE INDEX revocations_until ON fieldsync.revocations (until) WHERE until IS NOT NULL;
)sql";

// The nodes of a cluster (server/admin/node_heartbeat.hpp): each process upserts its row
// every heartbeat interval (`interval_ms`, its own setting), deletes it when it stops
// gracefully; a row not renewed for 3 intervals is a node that is down, and is deleted
// an hour later. `id` is random per process start, `name` the operator's (server.node_name).
// `clients` is the node's WebSocket session list as /admin/v1/clients describes it,
// written only when it changed, so other nodes can answer a cluster-wide list.
constexpr std::string_view migration_4 = R"sql(
CREATE TABLE fieldsync.nodes (
  id text PRIMARY KEY,
  name text NOT NULL,
  version text NOT NULL,
  admin_listen text NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  interval_ms bigint NOT NULL CHECK (interval_ms > 0),
  http_connections bigint NOT NULL,
  ws_connections bigint NOT NULL,
  ingest boolean NOT NULL,       -- replication.ingest is on: it may lead
  leader boolean NOT NULL,       -- it holds the ingest leadership
  ingest_status jsonb,           -- what its ingest reports (/admin/v1/status "ingest")
  clients jsonb,
  clients_at timestamptz
);
)sql";

constexpr migration migrations[] = {
    {1, "change log, current rows, ingest state", migration_1},
    {2, "value format and load failures of collections", migration_2},
    {3, "revoked subjects and token ids", migration_3},
    {4, "cluster nodes and their heartbeats", migration_4},
};

// Serialises migrations of concurrent nodes; any constant shared by all fieldsync builds.
constexpr std::string_view migration_lock_key = "4242010001";

}  // namespace

std::span<const migration> log_migrations() noexcept { return migrations; }

namespace {

boost::asio::awaitable<pg_outcome<int>> migrate_locked(pg_connection& conn) {
  auto setup = co_await conn.async_exec(
      "CREATE SCHEMA IF NOT EXISTS fieldsync;"
      "CREATE TABLE IF NOT EXISTS fieldsync.schema_migrations ("
      "  version integer PRIMARY KEY,"
      "  description text NOT NULL,"
      "  applied_at timestamptz NOT NULL DEFAULT now())");
  if (!setup) co_return setup.error();
  auto done = co_await conn.async_query("SELECT coalesce(max(version), 0) FROM fieldsync.schema_migrations");
  if (!done) co_return done.error();
  int current = std::stoi(std::string(done->value(0, 0)));
  int newest = migrations[std::size(migrations) - 1].version;
  if (current > newest) {
    co_return pg_error{make_error_code(pg_errc::unexpected_result), {},
                       "the storage database has fieldsync schema version " +
                           std::to_string(current) + ", newer than this binary's " +
                           std::to_string(newest) + ": upgrade fieldsync"};
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    auto run = co_await conn.async_exec("BEGIN");
    if (run) run = co_await conn.async_exec(m.sql);
    if (run) {
      run = co_await conn.async_query(
          "INSERT INTO fieldsync.schema_migrations (version, description) VALUES ($1, $2)",
          pg_params(m.version, m.description));
    }
    if (run) run = co_await conn.async_exec("COMMIT");
    if (!run) {
      (void)co_await conn.async_exec("ROLLBACK");
      co_return pg_error{run.error().code, run.error().sqlstate,
                         "migration " + std::to_string(m.version) + " (" +
                             std::string(m.description) + "): " + run.error().message};
    }
    current = m.version;
  }
  co_return current;
}

}  // namespace

boost::asio::awaitable<pg_outcome<int>> async_migrate_log_schema(pg_connection& conn) {
  // A session lock: concurrent nodes wait here, then find the work done.
  const std::string key(migration_lock_key);
  auto locked = co_await conn.async_exec("SELECT pg_advisory_lock(" + key + ")");
  if (!locked) co_return locked.error();
  auto result = co_await migrate_locked(conn);
  auto unlocked = co_await conn.async_exec("SELECT pg_advisory_unlock(" + key + ")");
  if (!unlocked && result) co_return unlocked.error();
  co_return result;
}

}  // namespace fieldsync::storage
