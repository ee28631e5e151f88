#pragma once
// Evaluating a bound filter on one row, as the fan-out hub does for every change and every
// candidate subscription (on the old and the new row). A row is a JSON object from column
// name to value in protocol/value_json.hpp's representation; a column the row lacks reads
// as NULL, and so does a value that does not fit the column's type.
//
// SQL semantics: the result is three-valued and a row matches only when it is TRUE, exactly
// as `WHERE <filter>` in PostgreSQL (tests/pg/protocol/filter_differential_test.cpp holds
// the two to each other). Never throws, never allocates; safe to call from any thread.

#include "protocol/filter/filter_bound.hpp"

#include <boost/json/object.hpp>

namespace fieldsync::protocol {

filter_truth evaluate(const bound_filter& filter, const boost::json::object& row) noexcept;

inline bool matches(const bound_filter& filter, const boost::json::object& row) noexcept {
  return evaluate(filter, row) == filter_truth::true_;
}

}  // namespace fieldsync::protocol
