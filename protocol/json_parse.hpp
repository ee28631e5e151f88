#pragma once
// JSON text to a boost::json::value with every number read exactly. Boost.JSON 1.81's own
// parser rounds a number with a fraction or an exponent imprecisely (about a quarter of
// all doubles come out one unit in the last place off), so a jsonb value would not survive
// a trip through fieldsync. This parser re-reads such numbers with std::from_chars, which
// rounds correctly; everything else is Boost.JSON's parser, with its checks and limits.

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string_view>

namespace fieldsync::protocol {

// Rows that fieldsync itself stored (the change log, its answers): an object of column
// values, arrays at most 6 deep. Generous, for rows of logs written by older versions,
// whose json values were nested documents.
inline constexpr std::size_t max_stored_row_depth = 80;

// Errors are Boost.JSON's (boost::json::error), too_deep beyond max_depth nested arrays
// and objects. A number beyond the range of double becomes an infinity, as with
// Boost.JSON: callers that print JSON must check for it.
boost::system::result<boost::json::value> parse_json_exact(std::string_view text,
                                                           std::size_t max_depth);

// Whether `text` is one JSON document nested at most max_depth deep (without building
// it); with refuse_nul, also that no string or key holds NUL (what jsonb refuses).
bool is_json_text(std::string_view text, std::size_t max_depth, bool refuse_nul);

}  // namespace fieldsync::protocol
