#pragma once
// A write workload for the live-subscription tests: one synced table `items` (id, territory,
// seq, payload) whose rows move between territories, and the truth to compare clients with.
//
// Every update increments `seq`, so a client can tell a missed or a doubled update from the
// row alone (sync_client checks that each update it gets is its copy's seq + 1). Inserts
// use fresh ids (never reused), so a delete followed by an insert of the same key never
// happens.
//
// Test set-up code: blocking libpq on threads of its own, never on a reactor.

#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fieldsync::test {

inline constexpr const char* test_jwt_secret = "test-secret-0123456789-0123456789-0123456789";

// The config sections of a live-sync test: its own slot and publication, the test signing
// key (kid "test"), the items collection scoped by territory, and `extra` (more sections).
// `auth_lines` go into [auth] (issuer, audience, ...) and may add [auth.keys.*] after them;
// `replication_lines` into [replication].
std::string live_sync_sections(const fresh_database& db, const std::string& extra = "",
                               const std::string& auth_lines = "",
                               const std::string& replication_lines = "");

// Creates `items`.
void create_items_schema(const std::string& conninfo);

struct items_workload {
  int territories = 6;           // rows live in territories 1..territories
  std::uint64_t changes = 1000;  // row changes in all
  double delete_share = 0.15;
  double insert_share = 0.20;
  double move_share = 0.30;  // of the updates: the row changes territory
  int max_per_transaction = 4;
  std::size_t payload_bytes = 24;
  std::uint64_t seed = 1;
  std::int64_t first_id = 1;                   // inserts count up from here
  std::vector<std::int64_t> only_territories;  // non-empty: inserts and moves stay in these
};

// Inserts `rows` rows spread over territories 1..territories (ids from `first_id`).
void seed_items(const std::string& conninfo, int rows, int territories, std::int64_t first_id = 1,
                std::size_t payload_bytes = 24);

// Runs the workload on the live rows whose ids lie in [lo, hi) (the writer's own range:
// concurrent writers never wait on each other); returns the number of row changes made.
std::uint64_t run_items_workload(const std::string& conninfo, const items_workload& w,
                                 std::int64_t lo, std::int64_t hi,
                                 const std::atomic<bool>* stop = nullptr,
                                 std::atomic<std::uint64_t>* progress = nullptr);

// Waits until the change log holds the collection's initial copy (fails the test after
// `timeout_s`): subscriptions are served from then on.
void wait_for_collection(const std::string& conninfo, const std::string& name, int timeout_s = 60);
// The same, with the end of the server's log in the failure.
void wait_for_collection(server_process& server, const std::string& conninfo,
                         const std::string& name, int timeout_s = 60);

// One value of a one-row, one-column query, or "" when there is no row.
std::string query_text(const std::string& conninfo, const std::string& sql);

// The rows of `territories`, by key, as {"id","territory_id","seq","payload"} JSON text
// with the values as the server sends them.
std::map<std::string, std::string> items_in(const std::string& conninfo,
                                            const std::vector<std::int64_t>& territories);

// A bearer token for the test key with these claims (exp an hour ahead unless given).
std::string test_token(const std::string& subject, const std::vector<std::int64_t>& territories,
                       std::int64_t exp_offset_s = 3600);

}  // namespace fieldsync::test
