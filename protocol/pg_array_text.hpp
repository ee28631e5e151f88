#pragma once
// PostgreSQL array literals (the text of array_in and array_out) and nested JSON arrays.
//
// Text -> JSON reads what array_out prints: one brace level per dimension (rectangular, at
// most 6 like PostgreSQL's MAXDIM), quoted elements with backslash escapes, unquoted
// elements, and NULL (unquoted, any case) for a null element. Each element's text goes
// through text_to_json with the element type. An array with a dimension decoration
// ("[0:2]={...}", printed when a lower bound is not 1) stays its text, a JSON string: a
// JSON array has no lower bound to carry it.
//
// Text -> strings reads a one-dimensional array of non-NULL texts (the column names and
// other lists fieldsync reads back from its own tables and the catalog) with the same parser.
//
// JSON -> text writes what array_out would print (elements quoted only where array_out
// quotes them), so text -> JSON -> text gives PostgreSQL's text back unchanged.

#include "protocol/pg_type.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::protocol {

inline constexpr std::size_t max_array_dimensions = 6;
// The nesting of json/jsonb values that clients send as JSON values rather than as text
// (protocol/value_json.hpp).
inline constexpr std::size_t max_json_depth = 64;

// Errors are value_errc (protocol/value_json.hpp).
boost::system::result<boost::json::value> array_text_to_json(const column_type& element,
                                                             std::string_view text);
// value_errc::bad_text for malformed text, and for a NULL element, a second dimension or
// a lower bound other than 1, which a list of strings cannot carry.
boost::system::result<std::vector<std::string>> array_text_to_strings(std::string_view text);
boost::system::result<std::string> json_to_array_text(const column_type& element,
                                                      const boost::json::array& value);

}  // namespace fieldsync::protocol
