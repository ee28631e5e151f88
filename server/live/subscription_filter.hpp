#pragma once
// The rows one subscription delivers: the subscriber's read scope (bound to its claims)
// AND the client's `where` (bound to its params), and what a logged change means for it.
//
// A change is judged on the row before and the row after it (REPLICA IDENTITY FULL gives
// both for updates), so a row that moves in and out of a subscriber's view arrives as an
// insert or a delete (docs/protocol.md, "Changes").
//
// Pure: no I/O; immutable once made; any thread.

#include "protocol/change.hpp"
#include "protocol/filter/filter.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fieldsync::server {

struct subscription_filter {
  protocol::bound_filter scope;
  protocol::bound_filter where;

  bool matches(const boost::json::object& row) const noexcept {
    return protocol::matches(scope, row) && protocol::matches(where, row);
  }
  // True when binding folded either part to FALSE or UNKNOWN: no row can ever match.
  bool matches_nothing() const noexcept;
};

// What a subscriber receives for a change: nothing, or the change as an insert (the row
// entered its view), an update (it stayed in), or a delete (it left, or was deleted).
enum class delivery { none, insert, update, remove };

const char* to_string(delivery d) noexcept;  // "insert", "update", "delete"

// Insert: the new row decides. Delete: the old row (`row` of a logged delete). Update: both;
// an update logged without its old row (never with REPLICA IDENTITY FULL) is an update when
// the new row matches and a delete otherwise, which a client applies as upsert and delete
// of a key it may not hold: harmless either way.
delivery classify(const subscription_filter& f, const protocol::row_change& change) noexcept;

// An index constraint: the subscription can only match rows whose `column` has one of
// `keys` (protocol::equality_key of the value), in the old or the new row.
struct index_constraint {
  std::string column;
  std::vector<std::string> keys;
};

// The most selective necessary equality constraint of the filter (scope or where, whichever
// pins a column to the fewest values), or nullopt when neither has one: the subscription
// is then a candidate for every change of its collection. Beyond protocol's
// equality_constraints, an OR whose branches all pin the same column (`rep_id = $claims.rep_id
// OR rep_id = ANY($claims.reps)`) pins it to the union of their values.
std::optional<index_constraint> choose_index_constraint(const subscription_filter& f);

}  // namespace fieldsync::server
