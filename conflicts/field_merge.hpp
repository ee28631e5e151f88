#pragma once
// The field-level three-way merge frame: what happens to one field of a mutation whose
// base is not the current row version. In this order:
//   1. the server's value is the same as the base (the server did not change the field since
//      the client saw it): the client's value;
//   2. the client's value is the same as the base (the client did not change it): the
//      server's value;
//   3. the client's value is the same as the server's (both changed it alike): the server's
//      value, no conflict; except for strategies that accumulate (counter), for which two
//      equal changes are two changes;
//   4. otherwise the field's strategy decides, or rejects.
// "The same" is the strategy's same() (semantic equality; set-union compares sets). An
// absent base is the same as no value, so an insert merged onto an existing row goes
// straight to 3 and 4.
//
// The frame compares values, not histories: a field changed and changed back on the server
// (A -> B -> A) looks unchanged, and the client's edit is taken.

#include "conflicts/merge_strategy.hpp"

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

namespace fieldsync::conflicts {

enum class field_resolution {
  client,  // rule 1
  server,  // rule 2
  agreed,  // rule 3
  policy,  // rule 4
};

struct merged_field {
  boost::json::value value;
  field_resolution resolution = field_resolution::client;
};

// The error is the strategy's rejection (a merge_errc).
boost::system::result<merged_field> merge_field(const merge_strategy& strategy,
                                                const field_context& c);

}  // namespace fieldsync::conflicts
