#pragma once
// Values as the filter language compares them (docs/filters.md, "Types"). A column's type
// decides its domain; a literal, a parameter or a claim is converted into that domain once,
// at check or bind time, and a row's JSON value (protocol/value_json.hpp's representation)
// is read into it on every evaluation without allocating. Comparison follows PostgreSQL's
// operators for the type, so evaluation in C++ and the compiled SQL agree.

#include "protocol/filter/filter_ast.hpp"
#include "protocol/filter/filter_error.hpp"
#include "protocol/pg_type.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

enum class filter_domain : std::uint8_t {
  none,  // json, jsonb, arrays, bytea, interval, timetz, other: only IS [NOT] NULL
  boolean,
  integer,  // int2, int4, int8, oid
  numeric,
  float4,
  float8,
  text,    // text, varchar, name, "char"
  bpchar,  // character(n): trailing spaces are not significant in comparisons
  uuid,
  date,         // days since 2000-01-01 (PostgreSQL's epoch)
  time,         // time without time zone: microseconds since midnight
  timestamp,    // microseconds since 2000-01-01 00:00:00
  timestamptz,  // microseconds since 2000-01-01 00:00:00 UTC
};

filter_domain domain_of(const column_type& type) noexcept;
const char* domain_name(filter_domain d) noexcept;  // for error messages

// A value in a domain. Integers beyond int64, and non-integers compared with integer columns,
// are decimals; decimals are normalised text ("-12.5", "0") or "NaN", "Infinity",
// "-Infinity"; dates and times are `integer` day or microsecond counts, with
// +-infinity as the int64 extremes (PostgreSQL orders them likewise).
struct filter_value {
  enum class kind : std::uint8_t { null_, boolean, integer, decimal, floating, text, uuid };
  kind k = kind::null_;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::array<std::uint8_t, 16> uuid{};
  std::string text;

  bool is_null() const noexcept { return k == kind::null_; }
};

// The non-owning form read from a row, and the form compare() takes.
struct filter_value_view {
  filter_value::kind k = filter_value::kind::null_;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::array<std::uint8_t, 16> uuid{};
  std::string_view text;

  filter_value_view() = default;
  filter_value_view(const filter_value& v) noexcept  // NOLINT: views of owned values
      : k(v.k),
        boolean(v.boolean),
        integer(v.integer),
        floating(v.floating),
        uuid(v.uuid),
        text(v.text) {}
};

// Room for a row value that needs formatting before it can be compared (a numeric sent as a
// JSON double); lives on the evaluator's stack.
struct filter_scratch {
  std::array<char, 400> buffer;
};

// Literal (kinds null_, boolean, number, string) or JSON (from $n or $claims) to a domain.
// Errors: type_mismatch (wrong kind for the domain), bad_value (does not parse or out of
// range). The error's position is 0: the caller knows where the operand is.
filter_result<filter_value> value_from_literal(filter_domain d, const filter_operand& literal);
filter_result<filter_value> value_from_json(filter_domain d, const boost::json::value& v);

// The domain two values compare in when no column is involved ($claims.role = 'admin'):
// strings as text, numbers as numeric, booleans as boolean; none for NULL.
filter_domain domain_of_literal(const filter_operand& literal) noexcept;
filter_domain domain_of_json(const boost::json::value& v) noexcept;

// A row's JSON value read in the column's domain. A value that does not fit the domain (not
// what value_json produces for the type) reads as NULL: a filter never throws on a row.
filter_value_view read_row_value(filter_domain d, const boost::json::value& v,
                                 filter_scratch& scratch) noexcept;

// <0, 0, >0 with PostgreSQL's ordering for the domain. Both non-NULL, both read in `d`.
int compare(filter_domain d, const filter_value_view& a, const filter_value_view& b) noexcept;

// A string that is equal for two values exactly when compare() says 0; for hash indexes.
std::string equality_key(filter_domain d, const filter_value_view& v);

// The PostgreSQL input text of a bound value in the domain, for a bind parameter; a value
// PostgreSQL reads back as exactly this value.
std::string to_pg_text(filter_domain d, const filter_value& v);

}  // namespace fieldsync::protocol
