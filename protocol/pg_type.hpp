#pragma once
// PostgreSQL column types as fieldsync sees them: the built-in type OIDs it knows by
// name, grouped into the classes that decide how a value becomes JSON, how a filter
// compares it and how a mutation's JSON value is checked before it reaches SQL.
// Types fieldsync does not know (enums, domains, ranges, ...) are `other`: their values
// travel as their PostgreSQL text.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

using type_oid = std::uint32_t;

enum class type_class : std::uint8_t {
  boolean,      // bool
  integer,      // int2, int4, int8, oid
  floating,     // float4, float8
  numeric,      // numeric (exact decimal)
  text,         // text, varchar, bpchar, name, char
  uuid,
  date,
  time,         // time, timetz
  timestamp,    // timestamp without time zone
  timestamptz,
  interval,
  json,         // json, jsonb
  bytea,
  array,        // one-dimensional arrays of the classes above; see element
  other,
};

struct column_type {
  type_oid oid = 0;
  type_class cls = type_class::other;
  type_class element = type_class::other;  // for arrays: the class of the elements
  type_oid element_oid = 0;                // for arrays
  std::string_view name;                   // "int8", "text[]", "other"

  friend bool operator==(const column_type& a, const column_type& b) noexcept {
    return a.oid == b.oid;
  }
};

// The description of a type OID; unknown OIDs give class `other` named "other" (and keep
// their OID).
column_type describe_type(type_oid oid) noexcept;

// Every type describe_type knows, scalars first, then their array types.
std::span<const column_type> known_column_types() noexcept;

// The built-in OIDs (pg_type.dat) that tests and SQL generation name.
namespace oids {
inline constexpr type_oid bool_ = 16, bytea = 17, char_ = 18, name = 19, int8 = 20, int2 = 21,
                          int4 = 23, text = 25, oid = 26, json = 114, float4 = 700,
                          float8 = 701, bpchar = 1042, varchar = 1043, date = 1082,
                          time = 1083, timestamp = 1114, timestamptz = 1184, interval = 1186,
                          timetz = 1266, numeric = 1700, uuid = 2950, jsonb = 3802;
}

}  // namespace fieldsync::protocol
