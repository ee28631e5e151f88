#pragma once
// When two field values are the same for the merge frame, and a total order on values for
// deterministic tie-breaks.
//
// Values are fieldsync's JSON form of PostgreSQL values (protocol/value_json.hpp). Two
// values are the same when their canonical forms are equal:
//   - numbers by exact value, whatever their JSON spelling: 12 == 12.0 == 1.2e1 (a double
//     counts as the shortest decimal that reads back as it, i.e. as it was written);
//   - strings byte for byte, except in numeric and integer columns (the column type says
//     so), where decimal strings are numbers: "12.50" == "12.5" == 12.5, and an int8 beyond
//     2^53 travels as text; and in jsonb columns, where a string is the document's text and
//     two spellings of one document are one value ("{\"a\":1}" == "{\"a\": 1}"). Elsewhere
//     a string is text: a postal code "01234" is not "1234", and "12.50" is not 12.5;
//   - arrays element by element, in order; objects key by key, in any key order;
//   - null only equals null.
// Without the column type, a numeric column's "12.50" and "12.5" count as different. That is
// the safe side: the frame may then call a policy for two spellings of one value (both are
// equal, so any choice is right), but it never takes a real change for "no change".
//
// Values are assumed to come through the bounded JSON parser (nesting depth limited), as
// everything from outside does; the functions recurse over the nesting.

#include "protocol/pg_type.hpp"

#include <boost/json/value.hpp>

#include <compare>
#include <string>

namespace fieldsync::conflicts {

// One spelling per value; injective on values as described above (not meant to be JSON).
std::string canonical_value(const boost::json::value& v, const protocol::column_type& type = {});

bool same_value(const boost::json::value& a, const boost::json::value& b,
                const protocol::column_type& type = {});

// A total order consistent with same_value: the canonical forms' byte order. Arbitrary, but
// the same on every machine, which is what a tie-break needs.
std::strong_ordering compare_values(const boost::json::value& a, const boost::json::value& b,
                                    const protocol::column_type& type = {});

// For a column that holds an array: the type its elements are compared as.
protocol::column_type element_type(const protocol::column_type& array_type) noexcept;

}  // namespace fieldsync::conflicts
