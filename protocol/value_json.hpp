#pragma once
// Column values between PostgreSQL's text format and JSON, by column type.
//
// The rule: a client receives exactly what PostgreSQL holds. A value is a JSON number only
// where every JSON reader (a browser's double) reads it exactly; anything else travels as
// text. PostgreSQL text -> JSON (what pgoutput and text-format query results carry; every
// connection runs with DateStyle=ISO, TimeZone=UTC, extra_float_digits=3,
// bytea_output=hex, IntervalStyle=iso_8601 so the text is stable):
//   boolean      true / false
//   integer      a JSON integer within +-(2^53 - 1); beyond, the decimal text as a string
//   floating     a JSON number (the shortest digits that read back as the value; a float4
//                as the double of its shortest digits); NaN and +-Infinity as the strings
//                "NaN", "Infinity", "-Infinity"
//   numeric      a JSON number when a double holds the decimal exactly and prints back the
//                same digits (0.5, 12.25; integers within +-(2^53 - 1)), otherwise the
//                decimal's text as a string ("0.1", "12.50", "NaN")
//   text, uuid   a string (uuid in lower case, as PostgreSQL prints it)
//   date         "2026-11-25"; outside 1..9999 AD ISO 8601's expanded years, "-000043-03-15"
//                for 44 BC; "infinity", "-infinity" (protocol/pg_datetime_text.hpp)
//   time         "11:04:51.5", timetz with its zone "11:04:51+02"
//   timestamp    "2026-11-25T11:04:51.5"; timestamptz in UTC: "2026-11-25T11:04:51.123456Z"
//   interval     the ISO 8601 duration string ("P1DT2H")
//   json, jsonb  the document's text as a string ("{\"a\": 1}"): a parsed document would
//                round numbers a double cannot hold, and json's text keeps what a parse
//                drops (key order, duplicate keys, spacing)
//   bytea        the hex form "\\x0aff" as a string
//   array        a JSON array (NULL elements as null, nested arrays for more dimensions),
//                elements converted by their class; an array whose lower bound is not 1
//                ("[0:1]={7,8}") stays its text, a string
//   other        the PostgreSQL text as a string (enums, domains of unknown base, ranges, ...)
//
// JSON -> PostgreSQL text is the inverse, for values that clients send (mutations) and for
// the Shape API, which hands out PostgreSQL's text: for every value PostgreSQL printed,
// json_to_text(text_to_json(text)) is that text, byte for byte. It checks that the JSON fits
// the type (an integer for int4 within its range, a string that parses as a uuid, ...) and
// fails with value_errc otherwise. Nothing here touches SQL: the text goes to PostgreSQL as a
// query parameter. What each class takes:
//   boolean      true / false
//   integer      integral numbers (5.0 is one) and decimal strings, within the type's range
//   floating     numbers, "NaN", "Infinity", "-Infinity"; float4 within its range
//   numeric      numbers (written without exponent), decimal strings ("12.50", "-1.5e-3"),
//                "NaN", "Infinity", "-Infinity"
//   text, other  strings
//   uuid         8-4-4-4-12 hex digits in any case (written in lower case)
//   date, time, timestamp, timestamptz, interval
//                the ISO 8601 shapes of protocol/pg_datetime_text.hpp (PostgreSQL's own
//                spelling too); timestamptz and timetz need a zone ("Z", "+02:00"),
//                timestamp and time must not have one
//   json, jsonb  a string holding the document (checked to be JSON, jsonb without \u0000),
//                or any other JSON value, which is the document itself (nested at most 64)
//   bytea        "\\x" and pairs of hex digits
//   array        a JSON array (nested arrays for more dimensions, rectangular, at most 6), or
//                the array's PostgreSQL text as a string
// No string may contain NUL (libpq cuts parameters there). JSON null is wrong_type for every
// type: a NULL column is the caller's business.

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
