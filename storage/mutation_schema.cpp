#include "storage/mutation_schema.hpp"

#include "storage/schema_migrator.hpp"

namespace fieldsync::storage {

namespace {

constexpr std::string_view migration_1 = R"sql(
CREATE TABLE fieldsync.mutation_clients (
  client_id text PRIMARY KEY,
  -- The subject of the token that first pushed for this client id; nobody else may.
  owner text NOT NULL,
  -- Every mutation id up to this one has a result; the next batch starts right after it.
  last_mutation_id bigint NOT NULL CHECK (last_mutation_id >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);        -- every batch rewrites its client's row: room for HOT updates

-- The results of each client's last mutations (at least mutations.result_retention of
-- them), as first answered, one row per batch (one index entry per batch, not per
-- mutation); a retry gets them back. `results` is [{mutation_id, result, collection, key,
-- wrote}]. The version of a write is not known before the commit: `xid` (the transaction's
-- 32-bit id) finds it in the change log later.
CREATE TABLE fieldsync.mutation_results (
  client_id text NOT NULL,
  first_id bigint NOT NULL,
  last_id bigint NOT NULL,
  results jsonb NOT NULL,
  xid bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, last_id)
);

-- The clocks that last-writer-wins compares with (docs/merge.md "Hybrid logical clocks").
-- They describe the row version whose xmin is `xid`: once anything else writes the row (an
-- integration), the xmin differs and the clocks no longer apply to its values.
CREATE TABLE fieldsync.row_clocks (
  collection text NOT NULL,
  key text NOT NULL,
  xid bigint NOT NULL,
  client_id text NOT NULL,       -- the last writer
  row_clock text,                -- nullable: a writer without a clock
  field_clocks jsonb NOT NULL DEFAULT '{}',
  deleted boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection, key)
) WITH (fillfactor = 70);        -- rewritten with every write of its row: room for HOT updates
CREATE INDEX row_clocks_deleted_idx ON fieldsync.row_clocks (updated_at) WHERE deleted;

CREATE TABLE fieldsync.conflicts (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  collection text NOT NULL,
  key text NOT NULL,
  client_id text NOT NULL,
  mutation_id bigint NOT NULL,
  subject text NOT NULL,
  op text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('merged', 'rejected')),
  reason text,                   -- the rejection code
  row_policy text,               -- the row-level policy that decided, if one did
  fields jsonb NOT NULL          -- [{field, strategy, base, client, server, merged, error}]
);
CREATE INDEX conflicts_at_idx ON fieldsync.conflicts (at);
CREATE INDEX conflicts_collection_idx ON fieldsync.conflicts (collection, id);
)sql";

// Client ids are forgotten when unused for mutations.client_retention_ms, or when their
// subject (the owner) has more than mutations.max_clients_per_subject: both look ids up by
// their last use. An insert's write scope is checked on the row as stored (after defaults
// and triggers) by require_write_scope, whose SQLSTATE names the refusal.
constexpr std::string_view migration_2 = R"sql(
CREATE INDEX mutation_clients_owner_used_idx ON fieldsync.mutation_clients (owner, updated_at);
CREATE INDEX mutation_clients_used_idx ON fieldsync.mutation_clients (updated_at);

CREATE FUNCTION fieldsync.require_write_scope(inside boolean) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
  IF inside IS NOT TRUE THEN
    RAISE EXCEPTION 'the row as stored is outside the write scope' USING ERRCODE = 'FS403';
  END IF;
  RETURN true;
END
$fn$;
)sql";

// Every write of a row rewrites its clocks, and every batch its client's row: both tables
// leave room on their pages (fillfactor) for HOT updates, which PostgreSQL makes only when
// no indexed column changes. updated_at changed with every write and was indexed, so none
// were HOT. The deleted clocks' pruning now finds them by the predicate alone; a client's
// last use is kept to the minute (advance_client_statement), so most batches leave it be.
constexpr std::string_view migration_3 = R"sql(
DROP INDEX fieldsync.row_clocks_deleted_idx;
CREATE INDEX row_clocks_deleted_idx ON fieldsync.row_clocks (collection) WHERE deleted;
)sql";

constexpr migration migrations[] = {
    {1, "mutation clients, results, row clocks, conflicts", migration_1},
    {2, "client ids by last use, the write scope of the row as stored", migration_2},
    {3, "clock rewrites as HOT updates", migration_3},
};

}  // namespace

std::span<const migration> mutation_migrations() noexcept { return migrations; }

boost::asio::awaitable<pg_outcome<int>> async_migrate_mutation_schema(pg_connection& conn) {
  return async_apply_migrations(conn, migrations, "mutation_schema_migrations",
                                "the mutation schema");
}

}  // namespace fieldsync::storage
