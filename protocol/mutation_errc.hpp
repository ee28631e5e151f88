#pragma once
// Why a client mutation is rejected before it reaches the merge, and the stable wire codes
// (docs/protocol.md, "Mutations"). Merge rejections have codes of their own
// (conflicts/merge_errc.hpp: conflict, row_deleted, row_changed, row_exists, not_mergeable,
// out_of_range); both go to the client in a `rejected` result.

#include <string>
#include <string_view>

namespace fieldsync::protocol {

enum class mutation_errc {
  bad_mutation = 1,      // the mutation's JSON does not have the documented shape
  unknown_collection,    // no such collection
  unknown_column,        // a column the collection does not sync
  wrong_type,            // a value that does not fit its column's type (or its range)
  not_null,              // null (or, for an insert, nothing) for a NOT NULL column
  too_large,             // a value over mutations.max_value_bytes
  missing_key,           // a primary-key column missing or null
  key_immutable,         // an update that changes a primary-key column
  forbidden,             // outside the caller's write scope, before or after the change
  bad_clock,             // client_ts malformed, or its node is not the client id
  clock_drift,           // client_ts too far ahead of the server's clock
  constraint_violation,  // the database refused the write (unique, foreign key, check)
};

// "bad_mutation", "unknown_collection", ...
std::string_view code(mutation_errc e) noexcept;

struct mutation_problem {
  mutation_errc code = mutation_errc::bad_mutation;
  std::string message;  // one line, for people
};

}  // namespace fieldsync::protocol
