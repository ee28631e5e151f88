#pragma once
// The pure first step of a batch (docs/mutations.md "One batch", step 1): every check that
// needs no database, once for all attempts of the batch's transaction, and from the
// mutations that pass them what that transaction must lock and read. No I/O here.

#include "conflicts/hlc.hpp"
#include "conflicts/merge_config.hpp"
#include "protocol/mutation_check.hpp"
#include "protocol/mutation_request.hpp"
#include "server/access/authenticator.hpp"
#include "server/access/collection_registry.hpp"
#include "server/mutations/column_rules.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::server {

// A mutation after the checks that need no database.
struct planned_mutation {
  const protocol::mutation* m = nullptr;  // the batch's, or `adjusted`
  // The mutation after the collection's column rules (claims filled in, now() columns
  // taken out); m points here when there are rules.
  std::shared_ptr<const protocol::mutation> adjusted;
  const column_rules* rules = nullptr;              // null: none
  const collection_access* access = nullptr;        // null: no such collection
  const conflicts::merge_config* merge = nullptr;   // null: the defaults
  std::optional<protocol::checked_mutation> checked;
  std::optional<protocol::mutation_problem> problem;  // rejected with it
  std::optional<conflicts::hlc> clock;                // the client's, when it sent one
};

struct plan_context {
  const collection_registry& collections;
  const std::map<std::string, conflicts::merge_config>& merges;
  protocol::mutation_limits values;
  std::chrono::milliseconds max_clock_drift;
  std::int64_t now_ms = 0;  // the server's clock: a client clock may be ahead by the drift
  const std::map<std::string, column_rules, std::less<>>* columns = nullptr;  // by collection
};

// One entry per mutation of `batch`, in order; `batch` must outlive the result.
std::vector<planned_mutation> plan_mutations(const protocol::mutation_batch& batch,
                                             const principal& who, const plan_context& ctx);

// What the transaction locks and reads of one collection, for the mutations not rejected.
struct collection_reads {
  const collection_access* access = nullptr;
  std::vector<std::string> keys;  // canonical (protocol/row_key.hpp), first-seen order
  // The keys whose log version matters: a base_version to compare, or a deleted row's
  // last values for update-wins. Other results that write nothing report no version.
  std::vector<std::string> log_keys;
  // Per distinct key: the primary-key columns' PostgreSQL text, in key order.
  std::vector<std::vector<std::string>> key_texts;
};

// By collection name: name order is the lock order, the same for every batch.
std::map<std::string, collection_reads> plan_reads(const std::vector<planned_mutation>& plans);

// The primary-key columns' PostgreSQL text of a checked mutation's key, in key order.
std::vector<std::string> key_texts(const protocol::collection_schema& schema,
                                   const protocol::checked_mutation& checked);

}  // namespace fieldsync::server
