#include "protocol/pg_type.hpp"

#include <array>

namespace fieldsync::protocol {

namespace {

// pg_type.dat of PostgreSQL 15; tests/fixtures/pgoutput/capture.sh checks these OIDs and
// names against a running server (pg_type_oids.txt).
constexpr std::array known_types{
    column_type{16, type_class::boolean, type_class::other, 0, "bool"},
    column_type{17, type_class::bytea, type_class::other, 0, "bytea"},
    column_type{18, type_class::text, type_class::other, 0, "char"},
    column_type{19, type_class::text, type_class::other, 0, "name"},
    column_type{20, type_class::integer, type_class::other, 0, "int8"},
    column_type{21, type_class::integer, type_class::other, 0, "int2"},
    column_type{23, type_class::integer, type_class::other, 0, "int4"},
    column_type{25, type_class::text, type_class::other, 0, "text"},
    column_type{26, type_class::integer, type_class::other, 0, "oid"},
    column_type{114, type_class::json, type_class::other, 0, "json"},
    column_type{700, type_class::floating, type_class::other, 0, "float4"},
    column_type{701, type_class::floating, type_class::other, 0, "float8"},
    column_type{1042, type_class::text, type_class::other, 0, "bpchar"},
    column_type{1043, type_class::text, type_class::other, 0, "varchar"},
    column_type{1082, type_class::date, type_class::other, 0, "date"},
    column_type{1083, type_class::time, type_class::other, 0, "time"},
    column_type{1114, type_class::timestamp, type_class::other, 0, "timestamp"},
    column_type{1184, type_class::timestamptz, type_class::other, 0, "timestamptz"},
    column_type{1186, type_class::interval, type_class::other, 0, "interval"},
    column_type{1266, type_class::time, type_class::other, 0, "timetz"},
    column_type{1700, type_class::numeric, type_class::other, 0, "numeric"},
    column_type{2950, type_class::uuid, type_class::other, 0, "uuid"},
    column_type{3802, type_class::json, type_class::other, 0, "jsonb"},

    column_type{1000, type_class::array, type_class::boolean, 16, "bool[]"},
    column_type{1001, type_class::array, type_class::bytea, 17, "bytea[]"},
    column_type{1002, type_class::array, type_class::text, 18, "char[]"},
    column_type{1003, type_class::array, type_class::text, 19, "name[]"},
    column_type{1005, type_class::array, type_class::integer, 21, "int2[]"},
    column_type{1007, type_class::array, type_class::integer, 23, "int4[]"},
    column_type{1009, type_class::array, type_class::text, 25, "text[]"},
    column_type{1014, type_class::array, type_class::text, 1042, "bpchar[]"},
    column_type{1015, type_class::array, type_class::text, 1043, "varchar[]"},
    column_type{1016, type_class::array, type_class::integer, 20, "int8[]"},
    column_type{1021, type_class::array, type_class::floating, 700, "float4[]"},
    column_type{1022, type_class::array, type_class::floating, 701, "float8[]"},
    column_type{1028, type_class::array, type_class::integer, 26, "oid[]"},
    column_type{199, type_class::array, type_class::json, 114, "json[]"},
    column_type{1115, type_class::array, type_class::timestamp, 1114, "timestamp[]"},
    column_type{1182, type_class::array, type_class::date, 1082, "date[]"},
    column_type{1183, type_class::array, type_class::time, 1083, "time[]"},
    column_type{1185, type_class::array, type_class::timestamptz, 1184, "timestamptz[]"},
    column_type{1187, type_class::array, type_class::interval, 1186, "interval[]"},
    column_type{1231, type_class::array, type_class::numeric, 1700, "numeric[]"},
    column_type{1270, type_class::array, type_class::time, 1266, "timetz[]"},
    column_type{2951, type_class::array, type_class::uuid, 2950, "uuid[]"},
    column_type{3807, type_class::array, type_class::json, 3802, "jsonb[]"},
};

}  // namespace

column_type describe_type(type_oid oid) noexcept {
  for (const auto& t : known_types) {
    if (t.oid == oid) return t;
  }
  return column_type{oid, type_class::other, type_class::other, 0, "other"};
}

std::span<const column_type> known_column_types() noexcept { return known_types; }

}  // namespace fieldsync::protocol
