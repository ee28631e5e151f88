#pragma once
// The ISO 8601 text of PostgreSQL's date, time, timestamp and interval values, as
// fieldsync exchanges it: what PostgreSQL prints with DateStyle=ISO and
// IntervalStyle=iso_8601, and what clients send. One grammar serves both directions, so
// whatever fieldsync hands out it also takes back:
//   date         YYYY-MM-DD (4 to 7 year digits), " BC" suffix, infinity, -infinity
//   time         HH:MM[:SS[.fraction]], with a zone for timetz
//   timestamp    date ('T' | ' ') time, " BC" suffix, infinity, -infinity
//   zone         Z | +HH | +HH:MM | +HHMM | +HH:MM:SS (or -)
//   interval     P[nY][nM][nW][nD][T[nH][nM][nS]], each n optionally signed and fractional
// Only the shape and the field ranges are checked (month 1-12, day within its month, hour
// up to 24:00:00, zone within 15:59:59); PostgreSQL still owns the meaning.

#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

enum class zone_rule : bool { forbidden, required };

// The JSON form of each value (the input itself for date, time and interval; timestamps
// with 'T'; timestamptz moved to UTC and written with 'Z'), or nullopt when the text does
// not have the shape.
std::optional<std::string> iso_date(std::string_view text);
std::optional<std::string> iso_time(std::string_view text, zone_rule zone);
std::optional<std::string> iso_timestamp(std::string_view text, zone_rule zone);
bool is_iso_interval(std::string_view text) noexcept;

}  // namespace fieldsync::protocol
