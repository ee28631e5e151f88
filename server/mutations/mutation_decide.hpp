#pragma once
// The pure middle of a batch (docs/mutations.md "One batch"): given the rows, clocks, log
// versions and stored results the transaction read under its locks, what each mutation
// becomes (applied, merged, rejected or duplicate), what the transaction writes, and what
// it records. No I/O, no clocks: the same reads give the same decision, which is what lets
// the service run it again on a retry and what the unit tests pin down.

#include "conflicts/hlc.hpp"
#include "conflicts/strategy_registry.hpp"
#include "protocol/collection_schema.hpp"
#include "protocol/lsn.hpp"
#include "protocol/mutation_check.hpp"
#include "server/access/authenticator.hpp"
#include "server/mutations/mutation_plan.hpp"
#include "storage/mutation_rows.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fieldsync::server {

// A row as the batch sees it: read under its lock, then changed by earlier mutations of
// the same batch.
struct row_state {
  std::optional<boost::json::object> row;  // nullopt: no such row
  std::uint32_t xmin = 0;
  std::optional<std::int64_t> commit_ms;          // when track_commit_timestamp is on
  std::optional<storage::stored_clocks> stored;   // fieldsync.row_clocks
  std::optional<storage::log_row> log;            // the change log's latest version
  bool own = false;  // this transaction wrote it
  // Clocks computed in this batch (own, or recorded without a write).
  bool clocks_set = false;
  conflicts::writer last_writer;
  std::map<std::string, conflicts::hlc, std::less<>> field_clocks;
  bool deleted_mark = false;
};

using row_key = std::pair<std::string, std::string>;  // collection, canonical key
using row_states = std::map<row_key, row_state>;

// A write to the source table; the transaction sends it right after its mutation's origin
// message, so the change log knows which mutation made the row version.
struct row_write {
  enum class kind { insert, update, remove };
  kind what = kind::update;
  std::size_t mutation = 0;  // its index in the batch
  const protocol::collection_schema* schema = nullptr;
  std::vector<std::string> key;   // update, remove: the primary-key columns' text
  storage::column_values values;  // insert, update: the columns whose value changes
  std::vector<std::string> now_columns;  // insert, update: set to the transaction's time
  // An insert: the write scope is checked by the database on the row as stored (after
  // column defaults and triggers), and the statement fails when it is outside.
  bool check_scope = false;
};

struct decide_context {
  const principal& who;
  const std::string& client_id;
  std::int64_t last_mutation_id = 0;  // the client's, as stored before this batch
  const conflicts::strategy_registry& registry;
  protocol::mutation_limits values;
};

struct batch_decision {
  boost::json::array results;  // per mutation, in order, as the client gets them
  std::vector<bool> wrote;     // per result: its version comes from the commit
  // Results that are duplicates with a stored original, and those originals.
  std::vector<std::size_t> duplicate_positions;
  std::vector<storage::stored_result> duplicate_originals;
  std::int64_t last_mutation_id = 0;  // the client's after this batch
  std::vector<row_write> writes;      // in mutation order
  boost::json::array stored_results;  // [{mutation_id, result, collection, key, wrote}]: new ids only
  boost::json::array conflicts;       // [{collection, key, mutation_id, op, outcome, ...}]
  boost::json::array clocks;          // one per row to record, in (collection, key) order
};

// A version as results carry it: the LSN's text, or null when unknown.
boost::json::value version_json(const std::optional<protocol::lsn>& version);

// Decides every mutation, in order; later ones see earlier ones' effects on their row.
// `stored`: the stored results of the batch's ids; `rows`: every key of plan_reads().
batch_decision decide_batch(const std::vector<planned_mutation>& plans,
                            const std::vector<storage::stored_result>& stored, row_states rows,
                            const decide_context& ctx);

}  // namespace fieldsync::server
