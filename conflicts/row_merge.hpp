#pragma once
// The merge of one client mutation with the row as it is now: the function the mutation path
// calls, inside its transaction, when the mutation's base version is not the row's current
// version. It applies the collection's row-level policy when one side deleted the row, and
// the field frame (conflicts/field_merge.hpp) with each field's strategy otherwise.
//
// Pure and deterministic: the same input gives the same result on every node, whatever the
// order of keys in the JSON objects (fields are merged in name order). No exceptions: a
// rejection is a normal result; the error channel only reports a config that names an
// unknown strategy, which validate_merge_config() rules out at start-up.
//
// Concurrency: a plain function of its arguments; any number of threads may merge at once
// with one config and one registry, as long as neither is modified meanwhile.

#include "conflicts/hlc.hpp"
#include "conflicts/merge_config.hpp"
#include "conflicts/merge_strategy.hpp"
#include "conflicts/strategy_registry.hpp"
#include "protocol/change.hpp"
#include "protocol/collection_schema.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::conflicts {

struct row_merge_input {
  protocol::change_op op = protocol::change_op::update;
  // update: the fields the client sets; insert: the new row; delete: unused.
  boost::json::object changes;
  // What the client's edit was based on. update: the base values of the fields it changes (a
  // field missing here has an absent base, so only an identical server value avoids the
  // policy); delete: the row as the client saw it (a delete without it counts as conflicting
  // with any change); insert: unused.
  boost::json::object base;
  std::optional<boost::json::object> current;    // the row now; nullopt: it does not exist
  std::optional<boost::json::object> tombstone;  // a deleted row's last values, if still known
  writer client;                                 // the mutation's client id and clock
  writer server;  // the last writer of the current row (or of the tombstone)
  // Per-field last-writer clocks, for callers that keep them (store field_clocks of every
  // result): lww then compares each field with its own last writer, which keeps it
  // order-independent for any number of concurrent writers, where the row clock only does for
  // two. nullopt: not kept, every field's last writer is `server`. A field missing from a
  // kept map has an unknown clock (earlier than any).
  std::optional<std::map<std::string, hlc, std::less<>>> server_field_clocks;
  // Column types: numeric equality for decimal strings, doubles for floating counters.
  const protocol::collection_schema* schema = nullptr;
};

enum class row_outcome {
  applied,   // every field the client set ended with the client's value
  merged,    // written or kept, but some field differs from what the client set
  rejected,  // nothing written; the client rolls back to `row`
};

// What the caller writes to the source table.
enum class row_action { none, insert, update, remove };

// A field both sides changed to different values.
struct field_conflict {
  std::string field;
  std::string strategy;
  std::optional<boost::json::value> base;  // nullopt: absent
  boost::json::value client;
  boost::json::value server;
  std::optional<boost::json::value> merged;  // nullopt when the strategy rejected
  boost::system::error_code error;           // the strategy's rejection, if it rejected
};

struct row_merge_result {
  row_outcome outcome = row_outcome::applied;
  row_action action = row_action::none;
  // applied, merged: the whole row after the write (empty after a delete); rejected: the
  // current row (empty when there is none).
  boost::json::object row;
  // The row-level policy that decided ("delete-wins", "update-wins", "reject",
  // "merge-as-update"); empty when none did. A decision here is a conflict to record.
  std::string_view row_policy;
  std::vector<field_conflict> conflicts;  // in field name order
  // rejected: why (a merge_errc) and the fields that caused it (field rejections, or for
  // row_changed the fields the server changed since the base).
  boost::system::error_code reason;
  std::vector<std::string> rejected_fields;
  // Unless rejected: the row's new last-writer clock (the later of both sides), and the new
  // clocks of the fields whose clock changed: the client's for a field it changed and won,
  // the later of both for a field both sides set alike or a policy combined. Callers that keep
  // clocks store them even when action is none: two sides that agreed leave the value as it
  // was, but the later of their clocks is what the next concurrent write must beat.
  std::optional<hlc> row_clock;
  std::map<std::string, hlc, std::less<>> field_clocks;
};

boost::system::result<row_merge_result> merge_row(const merge_config& config,
                                                  const strategy_registry& registry,
                                                  const row_merge_input& input);

}  // namespace fieldsync::conflicts
