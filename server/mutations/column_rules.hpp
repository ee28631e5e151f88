#pragma once
// Column-level write control of a collection (docs/config.md, collections.NAME
// `writable_columns` and `server_set`): which columns a client may set, and which the server
// sets itself, from the token's claims (on insert) or the transaction's time (on every
// write). Made once at start-up from the config and the table's description; applied to each
// mutation while it is planned (server/mutations/mutation_plan.hpp), before anything is read.
//
// Pure: no I/O. Immutable after start-up; any thread.

#include "protocol/collection_schema.hpp"
#include "protocol/mutation_errc.hpp"
#include "protocol/mutation_request.hpp"
#include "server/access/authenticator.hpp"

#include <boost/system/result.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fieldsync::server {

// As configured.
struct column_rules_config {
  std::vector<std::string> writable;              // empty: every column
  std::map<std::string, std::string> server_set;  // column -> "$claims.NAME" | "now()"
};

struct column_rules {
  std::set<std::string, std::less<>> writable;             // empty: every column
  std::map<std::string, std::string, std::less<>> claims;  // column -> claim name
  std::vector<std::string> now;                            // set to now() on every write
  // The table as an insert is checked against: the now() columns have a default (the
  // server's), so an insert may leave them out.
  protocol::collection_schema insert_schema;

  bool empty() const noexcept { return writable.empty() && claims.empty() && now.empty(); }
};

// The rules of one collection; the error is one line naming the key (for start-up).
boost::system::result<column_rules, std::string> make_column_rules(
    const column_rules_config& config, const protocol::collection_schema& schema);

// The mutation as the server lets it be written: claim columns of an insert filled in from
// the token, now() columns taken out of what the client sets (the write sets them). Refused
// (forbidden) when it sets a column that is not writable, a claim column to another value
// than the token's (or, in an update, at all), or the token lacks the claim.
boost::system::result<protocol::mutation, protocol::mutation_problem> apply_column_rules(
    const column_rules& rules, const protocol::mutation& m,
    const protocol::collection_schema& schema, const principal& who);

}  // namespace fieldsync::server
