#pragma once
// Column values between PostgreSQL's text format and JSON, by column type.
//
// PostgreSQL text -> JSON (what pgoutput and text-format query results carry; the
// replication and query connections run with DateStyle=ISO, TimeZone=UTC,
// extra_float_digits=3, bytea_output=hex, IntervalStyle=iso_8601 so the text is stable):
//   boolean      true / false
//   integer      a JSON integer (int8 beyond 2^53 stays exact in the JSON text)
//   floating     a JSON number; NaN and +-Infinity as the strings "NaN", "Infinity", "-Infinity"
//   numeric      a JSON number when the decimal is exactly representable as a double and
//                prints back to the same digits, otherwise the decimal as a string
//   text, uuid   a string
//   date         "2026-11-25"; time "11:04:51.5"; timestamp "2026-11-25T11:04:51.5"
//   timestamptz  ISO 8601 in UTC: "2026-11-25T11:04:51.123456Z"; infinity as a string
//   interval     the ISO 8601 duration string ("P1DT2H")
//   json, jsonb  the JSON value itself
//   bytea        the hex form "\\x0aff" as a string
//   array        a JSON array (NULL elements as null), elements converted by their class
//   other        the PostgreSQL text as a string
// (json numbers are read exactly as a double holds them; one beyond double range is
// out_of_range. A json 'null' value is JSON null, like SQL NULL. Array details, lower
// bounds and multi-dimensional json arrays: protocol/pg_array_text.hpp.)
//
// JSON -> PostgreSQL text is the inverse for values that clients send (mutations): it
// checks that the JSON fits the type (an integer for int4 within its range, a string that
// parses as a uuid, ...) and fails with value_errc otherwise. Nothing here touches SQL:
// the text goes to PostgreSQL as a query parameter. What each class takes:
//   boolean      true / false
//   integer      integral numbers (5.0 is one) within int2 / int4 / int8 / oid range
//   floating     numbers, "NaN", "Infinity", "-Infinity"; float4 within its range
//   numeric      numbers (written without exponent), decimal strings ("12.50", "-1.5e-3"),
//                "NaN", "Infinity", "-Infinity"
//   text, other  strings
//   uuid         8-4-4-4-12 hex digits in any case (written in lower case)
//   date, time, timestamp, timestamptz, interval
//                the ISO 8601 shapes of protocol/pg_datetime_text.hpp; timestamptz and
//                timetz need a zone ("Z", "+02:00"), timestamp and time must not have one
//   json, jsonb  any JSON value nested at most 64 deep
//   bytea        "\\x" and pairs of hex digits
//   array        a JSON array (nested arrays for more dimensions, rectangular, at most 6)
// No string may contain NUL (libpq cuts parameters there; jsonb refuses \u0000). JSON null
// is wrong_type for every type: a NULL column is the caller's business.
// For every value PostgreSQL produced, json_to_text(text_to_json(v)) is text PostgreSQL
// reads as the same value (tests/fixtures/pgoutput/roundtrip.tsv, checked by capture.sh).

#include "protocol/pg_type.hpp"

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace fieldsync::protocol {

enum class value_errc {
  bad_text = 1,   // PostgreSQL text that does not parse as its type (a protocol error)
  wrong_type,     // a JSON value of the wrong kind for the column
  out_of_range,   // an integer outside the column type's range
  bad_format,     // a string that is not a valid uuid, date, timestamp, ...
  too_deep,       // nested arrays deeper than fieldsync accepts
};

const boost::system::error_category& value_category() noexcept;
inline boost::system::error_code make_error_code(value_errc e) noexcept {
  return {static_cast<int>(e), value_category()};
}

boost::system::result<boost::json::value> text_to_json(const column_type& type,
                                                       std::string_view text);

boost::system::result<std::string> json_to_text(const column_type& type,
                                                const boost::json::value& value);

}  // namespace fieldsync::protocol

template <>
struct boost::system::is_error_code_enum<fieldsync::protocol::value_errc> : std::true_type {};
