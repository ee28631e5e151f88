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

// Errors are Boost.JSON's (boost::json::error), too_deep beyond max_depth nested arrays
// and objects. A number beyond the range of double becomes an infinity, as with
// Boost.JSON: callers that print JSON must check for it.
boost::system::result<boost::json::value> parse_json_exact(std::string_view text,
                                                           std::size_t max_depth);

}  // namespace fieldsync::protocol
