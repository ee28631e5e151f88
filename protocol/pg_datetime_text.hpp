#pragma once
// Date, time, timestamp and interval values between PostgreSQL's text (DateStyle=ISO,
// IntervalStyle=iso_8601, TimeZone=UTC) and the ISO 8601 text fieldsync hands to clients.
// Both spellings are read by every function here:
//   date         YYYY-MM-DD (4 to 7 year digits) with an optional " BC" suffix, or ISO 8601's
//                expanded ±YYYYYY-MM-DD (astronomical years: 1 BC is +000000); infinity,
//                -infinity
//   time         HH:MM[:SS[.fraction]], with a zone for timetz
//   timestamp    date ('T' | ' ') time, then the zone for timestamptz, then " BC" if any
//   zone         Z | +HH | +HH:MM | +HHMM | +HH:MM:SS (or -)
//   interval     P[nY][nM][nW][nD][T[nH][nM][nS]], each n optionally signed and fractional
// The ISO form (iso_*) of a date or timestamp is YYYY-MM-DD for 1 to 9999 AD and the
// expanded form otherwise, 'T' between date and time, timestamptz moved to UTC with 'Z';
// JavaScript's Date reads all of it. The PostgreSQL form (pg_*) is what PostgreSQL prints
// under the settings above ("0044-03-15 12:00:00+00 BC"), which it also reads back.
// Only the shape and the field ranges are checked (month 1-12, day within its month, hour
// up to 24:00:00, zone within 15:59:59); PostgreSQL still owns the meaning.

#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

enum class zone_rule : bool { forbidden, required };

// nullopt when the text does not have the shape.
std::optional<std::string> iso_date(std::string_view text);
std::optional<std::string> pg_date(std::string_view text);
std::optional<std::string> iso_timestamp(std::string_view text, zone_rule zone);
std::optional<std::string> pg_timestamp(std::string_view text, zone_rule zone);
// Times are the same in both forms: the text itself.
std::optional<std::string> iso_time(std::string_view text, zone_rule zone);
bool is_iso_interval(std::string_view text) noexcept;

}  // namespace fieldsync::protocol
