// Values in the filter domains: parsing literals and JSON, reading row values, PostgreSQL's
// ordering, equality keys and the text sent to PostgreSQL.

#include "protocol/filter/filter_value.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

filter_operand number(std::string text) {
  filter_operand o;
  o.k = filter_operand::kind::number;
  o.text = std::move(text);
  return o;
}

filter_operand string(std::string text) {
  filter_operand o;
  o.k = filter_operand::kind::string;
  o.text = std::move(text);
  return o;
}

// The PostgreSQL text of a string literal in a domain, or "error: ...".
std::string pg_of_string(filter_domain d, std::string text) {
  auto v = value_from_literal(d, string(std::move(text)));
  if (!v) return "error: " + v.error().message;
  return to_pg_text(d, *v);
}

std::string pg_of_number(filter_domain d, std::string text) {
  auto v = value_from_literal(d, number(std::move(text)));
  if (!v) return "error: " + v.error().message;
  return to_pg_text(d, *v);
}

std::string pg_of_json(filter_domain d, std::string_view text) {
  auto v = value_from_json(d, json::parse(text));
  if (!v) return "error: " + v.error().message;
  return to_pg_text(d, *v);
}

int cmp_rows(filter_domain d, std::string_view a, std::string_view b) {
  filter_scratch sa, sb;
  auto ja = json::parse(a), jb = json::parse(b);
  auto va = read_row_value(d, ja, sa);
  auto vb = read_row_value(d, jb, sb);
  REQUIRE(va.k != filter_value::kind::null_);
  REQUIRE(vb.k != filter_value::kind::null_);
  return compare(d, va, vb);
}

std::string row_key(filter_domain d, std::string_view row_json) {
  filter_scratch s;
  auto j = json::parse(row_json);
  auto v = read_row_value(d, j, s);
  if (v.k == filter_value::kind::null_) return "NULL";
  return equality_key(d, v);
}

}  // namespace

TEST_CASE("filter values: domains of column types", "[filter][value]") {
  auto t = [](type_oid oid, type_class cls) {
    column_type c;
    c.oid = oid;
    c.cls = cls;
    return domain_of(c);
  };
  CHECK(t(oids::int8, type_class::integer) == filter_domain::integer);
  CHECK(t(oids::float4, type_class::floating) == filter_domain::float4);
  CHECK(t(oids::float8, type_class::floating) == filter_domain::float8);
  CHECK(t(oids::bpchar, type_class::text) == filter_domain::bpchar);
  CHECK(t(oids::varchar, type_class::text) == filter_domain::text);
  CHECK(t(oids::time, type_class::time) == filter_domain::time);
  CHECK(t(oids::timetz, type_class::time) == filter_domain::none);
  CHECK(t(oids::jsonb, type_class::json) == filter_domain::none);
  CHECK(t(1009, type_class::array) == filter_domain::none);
  CHECK(t(oids::bytea, type_class::bytea) == filter_domain::none);
  CHECK(t(oids::interval, type_class::interval) == filter_domain::none);
  CHECK(t(12345, type_class::other) == filter_domain::none);
}

TEST_CASE("filter values: decimals normalise and compare exactly", "[filter][value]") {
  CHECK(pg_of_number(filter_domain::numeric, "10000") == "10000");
  CHECK(pg_of_number(filter_domain::numeric, "-0012.5000") == "-12.5");
  CHECK(pg_of_number(filter_domain::numeric, "-0.0") == "0");
  CHECK(pg_of_number(filter_domain::numeric, "0.000123") == "0.000123");
  CHECK(pg_of_string(filter_domain::numeric, "1.5e3") == "1500");
  CHECK(pg_of_string(filter_domain::numeric, "+.5") == "0.5");
  CHECK(pg_of_string(filter_domain::numeric, "5.") == "5");
  CHECK(pg_of_string(filter_domain::numeric, "12E-4") == "0.0012");
  CHECK(pg_of_string(filter_domain::numeric, "nan") == "NaN");
  CHECK(pg_of_string(filter_domain::numeric, "-Infinity") == "-Infinity");
  CHECK(pg_of_string(filter_domain::numeric, "inf") == "Infinity");
  CHECK_THAT(pg_of_string(filter_domain::numeric, "12a"), Catch::Contains("is not a number"));
  CHECK_THAT(pg_of_string(filter_domain::numeric, " 1"), Catch::Contains("is not a number"));
  CHECK_THAT(pg_of_string(filter_domain::numeric, "1e999999"), Catch::Contains("more than 1000"));
  // The bounds are protocol::decimal's: 1000 significant digits and 1000 after the point as
  // written (the filter's own reader counted differently: it refused 0.<999 zeros>1 and took
  // 0e-999999 and 1.<1001 zeros>, which PostgreSQL's numeric_in refuses too).
  CHECK(pg_of_string(filter_domain::numeric, "1e999") == "1" + std::string(999, '0'));
  CHECK_THAT(pg_of_string(filter_domain::numeric, "1e1000"), Catch::Contains("more than 1000"));
  CHECK(pg_of_string(filter_domain::numeric, "0." + std::string(999, '0') + "1") ==
        "0." + std::string(999, '0') + "1");
  CHECK_THAT(pg_of_string(filter_domain::numeric, "0." + std::string(1000, '0') + "1"),
             Catch::Contains("more than 1000"));
  CHECK_THAT(pg_of_string(filter_domain::numeric, "0e-999999"), Catch::Contains("more than 1000"));
  CHECK_THAT(pg_of_string(filter_domain::numeric, "1." + std::string(1001, '0')),
             Catch::Contains("more than 1000"));
  CHECK(pg_of_json(filter_domain::numeric, "0.1") == "0.1");
  CHECK(pg_of_json(filter_domain::numeric, "1e20") == "100000000000000000000");
  CHECK(pg_of_json(filter_domain::numeric, "\"123456789012345678901234.5\"") ==
        "123456789012345678901234.5");
  CHECK(pg_of_json(filter_domain::numeric, "18446744073709551615") == "18446744073709551615");

  CHECK(cmp_rows(filter_domain::numeric, "1.5", "\"1.50\"") == 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"-0\"", "0") == 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"9.99\"", "10") < 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"-10\"", "\"-9.99\"") < 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"0.05\"", "\"0.1\"") < 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"100\"", "\"99.999\"") > 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"123456789012345678901234.5\"",
                 "\"123456789012345678901234.49\"") > 0);
  // PostgreSQL: -Infinity < numbers < Infinity < NaN, and NaN = NaN.
  CHECK(cmp_rows(filter_domain::numeric, "\"-Infinity\"", "-1e300") < 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"Infinity\"", "1e300") > 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"NaN\"", "\"Infinity\"") > 0);
  CHECK(cmp_rows(filter_domain::numeric, "\"NaN\"", "\"NaN\"") == 0);

  CHECK(row_key(filter_domain::numeric, "\"1.50\"") == "1.5");
  CHECK(row_key(filter_domain::numeric, "1.5") == "1.5");
  CHECK(row_key(filter_domain::numeric, "\"-0.0\"") == "0");
  CHECK(row_key(filter_domain::numeric, "7") == "7");
  CHECK(row_key(filter_domain::numeric, "\"1e5\"") == "NULL");  // PostgreSQL never prints that
  CHECK(row_key(filter_domain::numeric, "true") == "NULL");
}

TEST_CASE("filter values: integers against decimals", "[filter][value]") {
  auto v = value_from_literal(filter_domain::integer, number("42"));
  REQUIRE(v.has_value());
  CHECK(v->k == filter_value::kind::integer);
  CHECK(v->integer == 42);
  auto frac = value_from_literal(filter_domain::integer, number("2.5"));
  REQUIRE(frac.has_value());
  CHECK(frac->k == filter_value::kind::decimal);
  auto whole = value_from_literal(filter_domain::integer, number("3.000"));
  REQUIRE(whole.has_value());
  CHECK(whole->k == filter_value::kind::integer);
  auto huge = value_from_literal(filter_domain::integer, number("99999999999999999999"));
  REQUIRE(huge.has_value());
  CHECK(huge->k == filter_value::kind::decimal);

  filter_scratch s;
  json::value row = 3;
  auto three = read_row_value(filter_domain::integer, row, s);
  CHECK(compare(filter_domain::integer, three, *frac) > 0);
  CHECK(compare(filter_domain::integer, three, *whole) == 0);
  CHECK(compare(filter_domain::integer, three, *huge) < 0);
  json::value neg = -9223372036854775807LL - 1;
  CHECK(compare(filter_domain::integer, read_row_value(filter_domain::integer, neg, s), *frac) < 0);
  CHECK(row_key(filter_domain::integer, "3.0") == "3");
  CHECK(row_key(filter_domain::integer, "\"NaN\"") == "NULL");
  CHECK_THAT(pg_of_string(filter_domain::integer, "5"),
             Catch::Contains("does not compare with strings"));
  CHECK_THAT(pg_of_json(filter_domain::integer, "\"5\""),
             Catch::Contains("does not compare with strings"));
  CHECK_THAT(pg_of_json(filter_domain::integer, "[5]"), Catch::Contains("not a JSON array"));
  CHECK_THAT(pg_of_json(filter_domain::integer, "true"),
             Catch::Contains("does not compare with true"));
}

TEST_CASE("filter values: floats", "[filter][value]") {
  CHECK(pg_of_number(filter_domain::float8, "0.1") == "0.1");
  CHECK(pg_of_number(filter_domain::float4, "0.1") == "0.1");
  CHECK(pg_of_number(filter_domain::float4, "16777217") == "16777216");  // rounded to real
  CHECK_THAT(pg_of_number(filter_domain::float4, "1" + std::string(50, '0')),
             Catch::Contains("out of range for real"));
  CHECK(pg_of_string(filter_domain::float8, "NaN") == "NaN");
  CHECK(pg_of_string(filter_domain::float8, "-inf") == "-Infinity");
  CHECK_THAT(pg_of_string(filter_domain::float8, "1.5"), Catch::Contains("not strings"));
  CHECK(pg_of_json(filter_domain::float4, "0.1") == "0.1");
  CHECK_THAT(pg_of_json(filter_domain::float4, "1e300"), Catch::Contains("out of range"));

  CHECK(cmp_rows(filter_domain::float8, "\"NaN\"", "\"NaN\"") == 0);
  CHECK(cmp_rows(filter_domain::float8, "\"NaN\"", "\"Infinity\"") > 0);
  CHECK(cmp_rows(filter_domain::float8, "-0.0", "0") == 0);
  CHECK(cmp_rows(filter_domain::float8, "0.1", "0.10000000000000002") < 0);
  // float4 values compare after rounding to real, as PostgreSQL stores them.
  CHECK(cmp_rows(filter_domain::float4, "0.1", "0.10000000000000002") == 0);
  auto lit = value_from_literal(filter_domain::float4, number("0.1"));
  REQUIRE(lit.has_value());
  filter_scratch s;
  json::value row = 0.1;
  CHECK(compare(filter_domain::float4, read_row_value(filter_domain::float4, row, s), *lit) == 0);
  CHECK(row_key(filter_domain::float8, "-0.0") == "0");
  CHECK(row_key(filter_domain::float8, "\"NaN\"") == "NaN");
  CHECK(row_key(filter_domain::float8, "2.5") == "2.5");
  CHECK(row_key(filter_domain::float8, "\"x\"") == "NULL");
}

TEST_CASE("filter values: text and character(n)", "[filter][value]") {
  CHECK(cmp_rows(filter_domain::text, "\"a\"", "\"B\"") > 0);  // byte order, COLLATE "C"
  CHECK(cmp_rows(filter_domain::text, "\"ab\"", "\"abc\"") < 0);
  CHECK(cmp_rows(filter_domain::text, "\"é\"", "\"z\"") > 0);
  CHECK(cmp_rows(filter_domain::text, "\"a \"", "\"a\"") > 0);
  CHECK(cmp_rows(filter_domain::bpchar, "\"a  \"", "\"a\"") == 0);
  CHECK(pg_of_string(filter_domain::bpchar, "ab  ") == "ab");
  CHECK(row_key(filter_domain::bpchar, "\"ab  \"") == "ab");
  CHECK(row_key(filter_domain::text, "\"ab  \"") == "ab  ");
  CHECK_THAT(pg_of_number(filter_domain::text, "1"),
             Catch::Contains("does not compare with numbers"));
  CHECK_THAT(pg_of_json(filter_domain::text, "\"a\\u0000b\""), Catch::Contains("NUL"));
}

TEST_CASE("filter values: uuids", "[filter][value]") {
  const std::string canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  CHECK(pg_of_string(filter_domain::uuid, canonical) == canonical);
  CHECK(pg_of_string(filter_domain::uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == canonical);
  CHECK(pg_of_string(filter_domain::uuid, "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}") == canonical);
  CHECK(pg_of_string(filter_domain::uuid, "a0eebc999c0b4ef8bb6d6bb9bd380a11") == canonical);
  CHECK(pg_of_string(filter_domain::uuid, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11") == canonical);
  for (auto bad : {"", "a0eebc99", "a0eebc999c0b4ef8bb6d6bb9bd380a1-1",
                   "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11", "a0eebc99--9c0b4ef8bb6d6bb9bd380a11",
                   "-a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc999c0b4ef8bb6d6bb9bd380a11-",
                   "g0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc999c0b4ef8bb6d6bb9bd380a1100"}) {
    INFO(bad);
    CHECK_THAT(pg_of_string(filter_domain::uuid, bad), Catch::Contains("is not a uuid"));
  }
  CHECK(cmp_rows(filter_domain::uuid, "\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"",
                 "\"" + canonical + "\"") == 0);
  CHECK(cmp_rows(filter_domain::uuid, "\"00000000-0000-0000-0000-000000000001\"",
                 "\"ff000000-0000-0000-0000-000000000000\"") < 0);
  CHECK(row_key(filter_domain::uuid, "\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"") == canonical);
  CHECK(row_key(filter_domain::uuid, "\"nope\"") == "NULL");
}

TEST_CASE("filter values: timestamps with time zone compare as instants", "[filter][value]") {
  using d = filter_domain;
  CHECK(pg_of_string(d::timestamptz, "2026-11-25T11:04:51.123456Z") ==
        "2026-11-25 11:04:51.123456+00");
  CHECK(pg_of_string(d::timestamptz, "2026-11-25 11:04:51+05:30") ==
        "2026-11-25 05:34:51.000000+00");
  CHECK(pg_of_string(d::timestamptz, "2026-11-25T11:04:51-0530") ==
        "2026-11-25 16:34:51.000000+00");
  CHECK(pg_of_string(d::timestamptz, "2026-11-25 23:30-01") == "2026-11-26 00:30:00.000000+00");
  CHECK(pg_of_string(d::timestamptz, "2026-11-25 11:04:51-05:30:15") ==
        "2026-11-25 16:35:06.000000+00");
  CHECK(pg_of_string(d::timestamptz, "2026-11-25") == "2026-11-25 00:00:00.000000+00");
  CHECK(pg_of_string(d::timestamptz, "2026-11-25 11:04:51.5") == "2026-11-25 11:04:51.500000+00");
  CHECK(pg_of_string(d::timestamptz, "infinity") == "infinity");
  CHECK(pg_of_string(d::timestamptz, "-Infinity") == "-infinity");
  CHECK(pg_of_string(d::timestamptz, "0044-03-15 10:00:00 BC") ==
        "0044-03-15 10:00:00.000000+00 BC");
  CHECK(pg_of_string(d::timestamptz, "2000-01-01 00:30+01") == "1999-12-31 23:30:00.000000+00");
  for (auto bad : {"2026-11-25T11:04:51.1234567Z", "2026-02-29", "2026-13-01",
                   "2026-11-25 24:00:00", "2026-11-25 11:60", "2026-11-25 11:04:51 Europe/Berlin",
                   "2026-11-25T", "26-11-25", "2026-11-25 11:04:51+16", "294277-01-01",
                   "4714-11-23 BC", "now", "2026-11-25 11:04:51Z BC x"}) {
    INFO(bad);
    CHECK_THAT(pg_of_string(d::timestamptz, bad), Catch::Contains("is not a valid timestamptz"));
  }
  CHECK(pg_of_string(d::timestamptz, "2024-02-29") == "2024-02-29 00:00:00.000000+00");
  CHECK(pg_of_string(d::timestamptz, "294276-12-31 23:59:59.999999") ==
        "294276-12-31 23:59:59.999999+00");
  CHECK(pg_of_string(d::timestamptz, "4714-11-24 00:00:00 BC") ==
        "4714-11-24 00:00:00.000000+00 BC");

  CHECK(cmp_rows(d::timestamptz, "\"2026-11-25T11:04:51.5Z\"",
                 "\"2026-11-25T12:04:51.500+01:00\"") == 0);
  CHECK(cmp_rows(d::timestamptz, "\"2026-11-25T11:04:51Z\"", "\"2026-11-25T11:04:51.000001Z\"") <
        0);
  CHECK(cmp_rows(d::timestamptz, "\"infinity\"", "\"294276-12-31T23:59:59.999999Z\"") > 0);
  CHECK(cmp_rows(d::timestamptz, "\"-infinity\"", "\"0044-03-15 10:00:00+00 BC\"") < 0);
  CHECK(row_key(d::timestamptz, "\"2026-11-25T12:04:51.5+01:00\"") ==
        row_key(d::timestamptz, "\"2026-11-25T11:04:51.500000Z\""));
}

TEST_CASE("filter values: timestamps, dates, times", "[filter][value]") {
  using d = filter_domain;
  CHECK(pg_of_string(d::timestamp, "2026-11-25T11:04:51.5") == "2026-11-25 11:04:51.500000");
  CHECK(pg_of_string(d::timestamp, "2026-11-25") == "2026-11-25 00:00:00.000000");
  CHECK_THAT(pg_of_string(d::timestamp, "2026-11-25 11:04:51Z"), Catch::Contains("not a valid"));
  CHECK(pg_of_string(d::date, "2026-11-25") == "2026-11-25");
  CHECK(pg_of_string(d::date, "0001-01-01 BC") == "0001-01-01 BC");
  CHECK(pg_of_string(d::date, "5874897-12-31") == "5874897-12-31");
  CHECK(pg_of_string(d::date, "infinity") == "infinity");
  CHECK_THAT(pg_of_string(d::date, "5874898-01-01"), Catch::Contains("not a valid date"));
  CHECK_THAT(pg_of_string(d::date, "2026-11-25 10:00"), Catch::Contains("not a valid date"));
  CHECK_THAT(pg_of_string(d::date, "0000-01-01"), Catch::Contains("not a valid date"));
  CHECK(pg_of_string(d::time, "11:04") == "11:04:00.000000");
  CHECK(pg_of_string(d::time, "24:00:00") == "24:00:00.000000");
  CHECK(pg_of_string(d::time, "9:05:01.25") == "09:05:01.250000");
  CHECK_THAT(pg_of_string(d::time, "24:00:01"), Catch::Contains("not a valid time"));
  CHECK_THAT(pg_of_number(d::date, "20261125"), Catch::Contains("does not compare with numbers"));

  CHECK(cmp_rows(d::date, "\"2026-11-25\"", "\"2026-11-26\"") < 0);
  CHECK(cmp_rows(d::date, "\"0001-01-01 BC\"", "\"0001-01-01\"") < 0);
  CHECK(cmp_rows(d::date, "\"0002-01-01 BC\"", "\"0001-01-01 BC\"") < 0);
  CHECK(cmp_rows(d::time, "\"24:00:00\"", "\"23:59:59.999999\"") > 0);
  CHECK(cmp_rows(d::timestamp, "\"2026-11-25T11:04:51.5\"", "\"2026-11-25 11:04:51.500\"") == 0);
  // Every day of four centuries round-trips through the calendar arithmetic.
  for (int y = 1900; y < 2300; y += 7) {
    for (int m = 1; m <= 12; ++m) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04d-%02d-28", y, m);
      CHECK(pg_of_string(d::date, buf) == buf);
    }
  }
}
