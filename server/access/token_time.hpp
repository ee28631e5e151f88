#pragma once
// The times of a token (RFC 7519 NumericDate: seconds since the epoch, maybe fractional)
// as numbers the rest of the server can do arithmetic on without overflow.
//
// A signed token may carry any JSON number as exp, nbf or iat: 2^62, 1e300, -1e300, 1.5,
// year 9999. system_clock counts nanoseconds in an int64 (it ends in 2262), so such a
// value made a time_point whose construction, or the arithmetic after it, overflowed (undefined
// behaviour; the sanitizer build aborted). Every NumericDate is therefore floored to whole
// seconds and clamped to [-numeric_date_limit, numeric_date_limit] first: a value beyond
// the limit means "far future" (or "far past"), consistently in every check.
//
// Pure; any thread.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace fieldsync::server {

// 2200-01-01T00:00:00Z: far enough for any real token, and far enough from the end of
// system_clock (2262) that adding a leeway, an age limit or a timer delay cannot overflow.
inline constexpr std::int64_t numeric_date_limit = 7'258'118'400;

// A NumericDate as whole seconds, floored and clamped; nullopt for anything not a number.
std::optional<std::int64_t> numeric_date_seconds(const boost::json::value& v) noexcept;

enum class claim_date_status { absent, present, malformed };

// Reads claim `name` of `claims` into `out` (when present and a number).
claim_date_status read_claim_date(const boost::json::object& claims, std::string_view name,
                                  std::int64_t& out) noexcept;

// Seconds (or microseconds) since the epoch as a time_point, clamped to the limit above.
std::chrono::system_clock::time_point time_of_seconds(std::int64_t seconds) noexcept;
std::chrono::system_clock::time_point time_of_micros(std::int64_t micros) noexcept;

// Whole seconds since the epoch of `t` (floored).
std::int64_t seconds_of(std::chrono::system_clock::time_point t) noexcept;

}  // namespace fieldsync::server
