#include "protocol/value_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

// The JSON of a text, serialized (so an integer and a double of one value differ).
std::string to_json(type_oid oid, std::string_view text) {
  auto r = text_to_json(describe_type(oid), text);
  if (!r) return "error: " + r.error().message();
  return json::serialize(*r);
}

boost::system::error_code text_error(type_oid oid, std::string_view text) {
  auto r = text_to_json(describe_type(oid), text);
  return r ? boost::system::error_code{} : r.error();
}

// json_to_text of a JSON document.
std::string to_text(type_oid oid, std::string_view json_text) {
  auto r = json_to_text(describe_type(oid), json::parse(json_text));
  if (!r) return "error: " + r.error().message();
  return *r;
}

boost::system::error_code json_error(type_oid oid, std::string_view json_text) {
  auto r = json_to_text(describe_type(oid), json::parse(json_text));
  return r ? boost::system::error_code{} : r.error();
}

}  // namespace

TEST_CASE("boolean", "[value]") {
  CHECK(to_json(oids::bool_, "t") == "true");
  CHECK(to_json(oids::bool_, "f") == "false");
  // What a cast to text prints, as some SQL reads it.
  CHECK(to_json(oids::bool_, "true") == "true");
  CHECK(to_json(oids::bool_, "false") == "false");
  CHECK(text_error(oids::bool_, "yes") == value_errc::bad_text);
  CHECK(text_error(oids::bool_, "") == value_errc::bad_text);
  CHECK(to_text(oids::bool_, "true") == "t");
  CHECK(to_text(oids::bool_, "false") == "f");
  CHECK(json_error(oids::bool_, "1") == value_errc::wrong_type);
  CHECK(json_error(oids::bool_, "\"t\"") == value_errc::wrong_type);
}

TEST_CASE("integers keep every digit and their type's range", "[value]") {
  // Beyond 2^53 - 1 a browser's double would round: the decimal text instead.
  CHECK(to_json(oids::int8, "9223372036854775807") == "\"9223372036854775807\"");
  CHECK(to_json(oids::int8, "-9223372036854775808") == "\"-9223372036854775808\"");
  CHECK(to_json(oids::int8, "9007199254740993") == "\"9007199254740993\"");
  CHECK(to_json(oids::int8, "9007199254740992") == "\"9007199254740992\"");
  CHECK(to_json(oids::int8, "9007199254740991") == "9007199254740991");
  CHECK(to_json(oids::int8, "-9007199254740991") == "-9007199254740991");
  CHECK(to_text(oids::int8, "\"9007199254740993\"") == "9007199254740993");
  CHECK(to_text(oids::int8, "\"-9223372036854775808\"") == "-9223372036854775808");
  CHECK(json_error(oids::int8, "\"9223372036854775808\"") == value_errc::bad_format);
  CHECK(json_error(oids::int8, "\"+1\"") == value_errc::bad_format);
  CHECK(json_error(oids::int8, "\"1.5\"") == value_errc::bad_format);
  CHECK(to_json(oids::int2, "-32768") == "-32768");
  CHECK(to_json(oids::oid, "4294967295") == "4294967295");
  for (auto bad : {"", "1.5", "+1", " 1", "1 ", "9223372036854775808", "0x10", "1e3"}) {
    INFO(bad);
    CHECK(text_error(oids::int8, bad) == value_errc::bad_text);
  }
  CHECK(text_error(oids::int2, "32768") == value_errc::bad_text);
  CHECK(text_error(oids::int4, "2147483648") == value_errc::bad_text);
  CHECK(text_error(oids::oid, "-1") == value_errc::bad_text);

  CHECK(to_text(oids::int2, "32767") == "32767");
  CHECK(json_error(oids::int2, "32768") == value_errc::out_of_range);
  CHECK(json_error(oids::int2, "-32769") == value_errc::out_of_range);
  CHECK(to_text(oids::int4, "-2147483648") == "-2147483648");
  CHECK(json_error(oids::int4, "2147483648") == value_errc::out_of_range);
  CHECK(to_text(oids::int8, "9223372036854775807") == "9223372036854775807");
  CHECK(to_text(oids::int8, "-9223372036854775808") == "-9223372036854775808");
  CHECK(json_error(oids::int8, "9223372036854775808") == value_errc::out_of_range);
  CHECK(json_error(oids::int8, "1e19") == value_errc::out_of_range);
  CHECK(to_text(oids::oid, "4294967295") == "4294967295");
  CHECK(json_error(oids::oid, "-1") == value_errc::out_of_range);
  // Integral values only; 5.0 is one.
  CHECK(to_text(oids::int4, "5.0") == "5");
  CHECK(to_text(oids::int4, "1e3") == "1000");
  CHECK(json_error(oids::int4, "5.5") == value_errc::wrong_type);
  CHECK(to_text(oids::int4, "\"5\"") == "5");  // decimal text, as int8 beyond 2^53 travels
  CHECK(json_error(oids::int4, "\"five\"") == value_errc::bad_format);
  CHECK(json_error(oids::int4, "true") == value_errc::wrong_type);
  CHECK(json_error(oids::int4, "[5]") == value_errc::wrong_type);
}

TEST_CASE("floats: numbers, and the specials as strings", "[value]") {
  CHECK(to_json(oids::float8, "1.5") == json::serialize(json::value(1.5)));
  CHECK(json::parse(to_json(oids::float8, "0.1")).as_double() == 0.1);
  CHECK(json::parse(to_json(oids::float8, "1e-07")).as_double() == 1e-7);
  CHECK(json::parse(to_json(oids::float8, "5e-324")).as_double() == 5e-324);
  CHECK(json::parse(to_json(oids::float8, "1.7976931348623157e+308")).as_double() ==
        1.7976931348623157e308);
  CHECK(to_json(oids::float8, "1") == json::serialize(json::value(1.0)));  // a double
  CHECK(to_json(oids::float8, "NaN") == "\"NaN\"");
  CHECK(to_json(oids::float4, "Infinity") == "\"Infinity\"");
  CHECK(to_json(oids::float8, "-Infinity") == "\"-Infinity\"");
  for (auto bad : {"", "nan", "inf", "infinity", "abc", "1e400", "1.5x", "0x1p3"}) {
    INFO(bad);
    CHECK(text_error(oids::float8, bad) == value_errc::bad_text);
  }

  CHECK(text_error(oids::float4, "1e39") == value_errc::bad_text);
  CHECK(text_error(oids::float4, "1e-46") == value_errc::bad_text);
  CHECK(text_error(oids::float4, "1e-45") == boost::system::error_code{});  // subnormal

  CHECK(to_text(oids::float8, "0.1") == "0.1");
  CHECK(to_text(oids::float8, "1e22") == "1e+22");
  CHECK(to_text(oids::float8, "-0.0") == "-0");
  CHECK(to_text(oids::float8, "5") == "5");
  CHECK(to_text(oids::float8, "\"NaN\"") == "NaN");
  CHECK(to_text(oids::float8, "\"-Infinity\"") == "-Infinity");
  CHECK(json_error(oids::float8, "\"nan\"") == value_errc::bad_format);
  CHECK(json_error(oids::float8, "\"1.5\"") == value_errc::bad_format);
  CHECK(json_error(oids::float8, "true") == value_errc::wrong_type);
  CHECK(to_text(oids::float4, "3.4028234663852886e38") == "3.4028235e+38");
  CHECK(json_error(oids::float4, "1e300") == value_errc::out_of_range);
  CHECK(json_error(oids::float4, "1e-50") == value_errc::out_of_range);
  CHECK(to_text(oids::float4, "0") == "0");
}

TEST_CASE("numeric: a JSON number only when it is exactly the decimal", "[value]") {
  CHECK(to_json(oids::numeric, "0.1") == "\"0.1\"");  // not a double
  CHECK(to_json(oids::numeric, "0.5") == json::serialize(json::value(0.5)));
  CHECK(to_json(oids::numeric, "-0.5") == json::serialize(json::value(-0.5)));
  CHECK(to_json(oids::numeric, "12.25") == json::serialize(json::value(12.25)));
  CHECK(to_json(oids::numeric, "12.50") == "\"12.50\"");  // the scale is information
  CHECK(to_json(oids::numeric, "0.0000001") == "\"0.0000001\"");
  CHECK(to_json(oids::numeric, "0") == "0");
  CHECK(to_json(oids::numeric, "100") == "100");  // integral: a JSON integer
  CHECK(to_json(oids::numeric, "9007199254740991") == "9007199254740991");
  CHECK(to_json(oids::numeric, "9007199254740992") == "\"9007199254740992\"");
  CHECK(to_json(oids::numeric, "9007199254740993") == "\"9007199254740993\"");
  // 2^60 is a double, but prints back as 1.152921504606847e18.
  CHECK(to_json(oids::numeric, "1152921504606846976") == "\"1152921504606846976\"");
  CHECK(to_json(oids::numeric, "10000000000000000000000") == "\"10000000000000000000000\"");
  CHECK(to_json(oids::numeric, "123456789012345678901234567890.123") ==
        "\"123456789012345678901234567890.123\"");
  const std::string huge(200, '9');
  CHECK(to_json(oids::numeric, huge) == "\"" + huge + "\"");
  CHECK(to_json(oids::numeric, "NaN") == "\"NaN\"");
  CHECK(to_json(oids::numeric, "Infinity") == "\"Infinity\"");
  CHECK(to_json(oids::numeric, "-Infinity") == "\"-Infinity\"");
  for (auto bad : {"", "-", "1e5", ".5", "5.", "+5", "1,5", "nan", "0x1"}) {
    INFO(bad);
    CHECK(text_error(oids::numeric, bad) == value_errc::bad_text);
  }

  CHECK(to_text(oids::numeric, "0.5") == "0.5");
  CHECK(to_text(oids::numeric, "1e22") == "10000000000000000000000");
  CHECK(to_text(oids::numeric, "1e-7") == "0.0000001");
  CHECK(to_text(oids::numeric, "-12") == "-12");
  CHECK(to_text(oids::numeric, "18446744073709551615") == "18446744073709551615");
  CHECK(to_text(oids::numeric, "\"12.50\"") == "12.50");
  CHECK(to_text(oids::numeric, "\"-1.5e-3\"") == "-1.5e-3");
  CHECK(to_text(oids::numeric, "\".5\"") == ".5");
  CHECK(to_text(oids::numeric, "\"NaN\"") == "NaN");
  for (auto bad : {"\"\"", "\"abc\"", "\"1.2.3\"", "\"1e\"", "\"1e1001\"", "\" 1\"", "\"0x10\""}) {
    INFO(bad);
    CHECK(json_error(oids::numeric, bad) == value_errc::bad_format);
  }
  CHECK(json_error(oids::numeric, "true") == value_errc::wrong_type);
}

TEST_CASE("text types: strings only, any content but NUL", "[value]") {
  CHECK(to_json(oids::text, "") == "\"\"");
  CHECK(to_json(oids::text, "ünï©ødé \"q\" \\") == R"("ünï©ødé \"q\" \\")");
  CHECK(to_json(oids::varchar, "NULL") == "\"NULL\"");
  CHECK(to_text(oids::text, R"("ünï©ødé")") == "ünï©ødé");
  CHECK(to_text(oids::bpchar, "\"\"") == "");
  CHECK(json_error(oids::text, "5") == value_errc::wrong_type);
  CHECK(json_error(oids::text, R"("a\u0000b")") == value_errc::bad_format);
  CHECK(json_error(oids::name, "{}") == value_errc::wrong_type);
  // Output functions write C strings: a NUL is corrupt text.
  CHECK(text_error(oids::text, std::string_view("a\0b", 3)) == value_errc::bad_text);
  CHECK(text_error(3904, std::string_view("\0", 1)) == value_errc::bad_text);
}

TEST_CASE("uuid", "[value]") {
  CHECK(to_json(oids::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") ==
        "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
  CHECK(to_text(oids::uuid, "\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"") ==
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  for (auto bad :
       {"\"a0eebc999c0b4ef8bb6d6bb9bd380a11\"", "\"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}\"",
        "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g\"", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1\"",
        "\"\""}) {
    INFO(bad);
    CHECK(json_error(oids::uuid, bad) == value_errc::bad_format);
  }
  CHECK(json_error(oids::uuid, "1") == value_errc::wrong_type);
  CHECK(to_json(oids::uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") ==
        "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
  CHECK(text_error(oids::uuid, "nope") == value_errc::bad_text);
}

TEST_CASE("dates", "[value]") {
  CHECK(to_json(oids::date, "2026-11-25") == "\"2026-11-25\"");
  CHECK(to_json(oids::date, "infinity") == "\"infinity\"");
  CHECK(to_json(oids::date, "-infinity") == "\"-infinity\"");
  // Outside 1..9999 AD: ISO 8601's expanded years (astronomical: 1 BC is year 0).
  CHECK(to_json(oids::date, "0044-03-15 BC") == "\"-000043-03-15\"");
  CHECK(to_json(oids::date, "0001-12-31 BC") == "\"+000000-12-31\"");
  CHECK(to_json(oids::date, "4713-01-01 BC") == "\"-004712-01-01\"");
  CHECK(to_json(oids::date, "5874897-12-31") == "\"+5874897-12-31\"");
  CHECK(to_json(oids::date, "10000-01-01") == "\"+010000-01-01\"");
  CHECK(to_json(oids::date, "9999-12-31") == "\"9999-12-31\"");
  CHECK(to_json(oids::date, "0001-01-01") == "\"0001-01-01\"");
  // Back to PostgreSQL's own text, from either spelling.
  CHECK(to_text(oids::date, "\"2024-02-29\"") == "2024-02-29");
  CHECK(to_text(oids::date, "\"0001-02-29 BC\"") == "0001-02-29 BC");  // 1 BC is a leap year
  CHECK(to_text(oids::date, "\"+000000-02-29\"") == "0001-02-29 BC");
  CHECK(to_text(oids::date, "\"-000043-03-15\"") == "0044-03-15 BC");
  CHECK(to_text(oids::date, "\"+5874897-12-31\"") == "5874897-12-31");
  CHECK(to_text(oids::date, "\"infinity\"") == "infinity");
  CHECK(json_error(oids::date, "\"-000043-03-15 BC\"") == value_errc::bad_format);
  for (auto bad : {"\"2023-02-29\"", "\"2026-13-01\"", "\"2026-00-10\"", "\"2026-11-31\"",
                   "\"26-11-25\"", "\"2026-11-25T00:00\"", "\"2026/11/25\"", "\"0000-01-01\"",
                   "\"Infinity\"", "\"2026-11-25 AD\"", "\"\""}) {
    INFO(bad);
    CHECK(json_error(oids::date, bad) == value_errc::bad_format);
  }
  CHECK(json_error(oids::date, "20261125") == value_errc::wrong_type);
}

TEST_CASE("times", "[value]") {
  CHECK(to_json(oids::time, "11:04:51.5") == "\"11:04:51.5\"");
  CHECK(to_json(oids::time, "24:00:00") == "\"24:00:00\"");
  CHECK(to_json(oids::timetz, "11:04:51.5+05:30") == "\"11:04:51.5+05:30\"");
  CHECK(text_error(oids::time, "11:04:51+00") == value_errc::bad_text);
  CHECK(text_error(oids::timetz, "11:04:51") == value_errc::bad_text);
  CHECK(to_text(oids::time, "\"11:04\"") == "11:04");
  CHECK(to_text(oids::timetz, "\"11:04:51Z\"") == "11:04:51Z");
  for (auto bad : {"\"24:00:01\"", "\"11:60:00\"", "\"11:04:60\"", "\"1:04\"", "\"11:04:51.\"",
                   "\"11:04:51.1234567890\""}) {
    INFO(bad);
    CHECK(json_error(oids::time, bad) == value_errc::bad_format);
  }
}

TEST_CASE("timestamps: ISO 8601, timestamptz in UTC", "[value]") {
  CHECK(to_json(oids::timestamp, "2026-11-25 11:04:51.5") == "\"2026-11-25T11:04:51.5\"");
  CHECK(to_json(oids::timestamp, "0044-03-15 11:04:51 BC") == "\"-000043-03-15T11:04:51\"");
  CHECK(to_json(oids::timestamp, "294276-12-31 23:59:59.999999") ==
        "\"+294276-12-31T23:59:59.999999\"");
  CHECK(to_json(oids::timestamp, "infinity") == "\"infinity\"");
  CHECK(text_error(oids::timestamp, "2026-11-25 11:04:51+00") == value_errc::bad_text);

  CHECK(to_json(oids::timestamptz, "2026-11-25 11:04:51.123456+00") ==
        "\"2026-11-25T11:04:51.123456Z\"");
  CHECK(to_json(oids::timestamptz, "2026-11-25 11:04:51+05:30") == "\"2026-11-25T05:34:51Z\"");
  CHECK(to_json(oids::timestamptz, "2026-12-31 23:30:00-01") == "\"2027-01-01T00:30:00Z\"");
  CHECK(to_json(oids::timestamptz, "2024-03-01 00:30:00+01") == "\"2024-02-29T23:30:00Z\"");
  CHECK(to_json(oids::timestamptz, "0001-01-01 00:30:00+01") == "\"+000000-12-31T23:30:00Z\"");
  CHECK(to_json(oids::timestamptz, "0001-12-31 23:30:00-01 BC") == "\"0001-01-01T00:30:00Z\"");
  CHECK(to_json(oids::timestamptz, "1900-01-01 00:00:00+00:53:28") == "\"1899-12-31T23:06:32Z\"");
  CHECK(to_json(oids::timestamptz, "-infinity") == "\"-infinity\"");
  CHECK(text_error(oids::timestamptz, "2026-11-25 11:04:51") == value_errc::bad_text);
  // Seven year digits at most, also after moving to UTC.
  CHECK(to_json(oids::timestamptz, "9999999-12-31 23:00:00+00") == "\"+9999999-12-31T23:00:00Z\"");
  CHECK(text_error(oids::timestamptz, "9999999-12-31 23:00:00-02") == value_errc::bad_text);

  // PostgreSQL's own text (what the Shape API hands out and what PostgreSQL reads back).
  CHECK(to_text(oids::timestamptz, "\"2026-11-25T11:04:51.123Z\"") == "2026-11-25 11:04:51.123+00");
  CHECK(to_text(oids::timestamptz, "\"2026-11-25 11:04:51+0530\"") == "2026-11-25 05:34:51+00");
  CHECK(to_text(oids::timestamptz, "\"-004712-01-01T00:00:00Z\"") == "4713-01-01 00:00:00+00 BC");
  CHECK(to_text(oids::timestamp, "\"2026-11-25T11:04\"") == "2026-11-25 11:04:00");
  CHECK(to_text(oids::timestamp, "\"-000043-03-15T11:04:51.5\"") == "0044-03-15 11:04:51.5 BC");
  // A zone decides what a timestamptz means, and is meaningless for a timestamp.
  CHECK(json_error(oids::timestamptz, "\"2026-11-25T11:04:51\"") == value_errc::bad_format);
  CHECK(json_error(oids::timestamp, "\"2026-11-25T11:04:51Z\"") == value_errc::bad_format);
  for (auto bad :
       {"\"2026-11-25T11:04:51+16:00\"", "\"2026-11-25T25:00:00Z\"", "\"2026-11-25X11:04:51Z\"",
        "\"2026-11-25T11:04:51Zx\"", "\"2026-11-25\"", "\"2026-11-25T11:04:51+5\""}) {
    INFO(bad);
    CHECK(json_error(oids::timestamptz, bad) == value_errc::bad_format);
  }
}

TEST_CASE("intervals in ISO 8601", "[value]") {
  for (auto good : {"P1Y2M3DT4H5M6.5S", "PT0S", "P-1D", "P10M3DT-4H-5M-6.5S", "P1W", "PT1.5H"}) {
    INFO(good);
    CHECK(to_json(oids::interval, good) == std::string("\"") + good + "\"");
    CHECK(to_text(oids::interval, std::string("\"") + good + "\"") == good);
  }
  for (auto bad : {"", "P", "PT", "1 day", "P1H", "P1D2Y", "PT1D", "P1DT", "P1.D", "P1Y1Y"}) {
    INFO(bad);
    CHECK(text_error(oids::interval, bad) == value_errc::bad_text);
  }
}

TEST_CASE("json and jsonb travel as their text", "[value]") {
  // The document's text, whatever it holds: numbers no double holds, json's duplicate keys
  // and spacing, nesting of any depth.
  CHECK(to_json(oids::jsonb, R"({"a": [1, "x", null, true]})") ==
        R"("{\"a\": [1, \"x\", null, true]}")");
  CHECK(to_json(oids::jsonb, R"({"n": 0.1, "big": 98765432109876543210})") ==
        R"("{\"n\": 0.1, \"big\": 98765432109876543210}")");
  CHECK(to_json(oids::json, R"( {"b":1,"a":2,"a":3} )") == R"(" {\"b\":1,\"a\":2,\"a\":3} ")");
  CHECK(to_json(oids::json, "null") == R"("null")");
  CHECK(to_json(oids::json, R"("a\u0000")") == R"("\"a\\u0000\"")");
  const std::string deep = std::string(500, '[') + std::string(500, ']');
  CHECK(to_json(oids::jsonb, deep) == "\"" + deep + "\"");

  // Back: a string is the document's text (checked); any other value is the document.
  CHECK(to_text(oids::jsonb, R"("{\"a\": [1, 2]}")") == R"({"a": [1, 2]})");
  CHECK(to_text(oids::json, R"(" {\"b\":1,\"b\":2} ")") == R"( {"b":1,"b":2} )");
  CHECK(to_text(oids::jsonb, R"("98765432109876543210")") == "98765432109876543210");
  CHECK(to_text(oids::jsonb, R"({"a":[1,2]})") == R"({"a":[1,2]})");
  CHECK(to_text(oids::json, "5") == "5");
  CHECK(to_text(oids::json, R"("\"a\\u0000b\"")") == R"("a\u0000b")");
  CHECK(json_error(oids::jsonb, R"("\"a\\u0000b\"")") == value_errc::bad_format);
  CHECK(json_error(oids::jsonb, R"("{")") == value_errc::bad_format);
  CHECK(json_error(oids::json, R"("")") == value_errc::bad_format);
  CHECK(json_error(oids::jsonb, R"({"a\u0000": 1})") == value_errc::bad_format);
  CHECK(to_text(oids::jsonb, "\"" + deep + "\"") == deep);
  const std::string deep64 = std::string(64, '[') + std::string(64, ']');
  const std::string deep65 = std::string(65, '[') + std::string(65, ']');
  json::parse_options options;
  options.max_depth = 100;
  CHECK(json_to_text(describe_type(oids::json), json::parse(deep64, {}, options)).has_value());
  CHECK(json_to_text(describe_type(oids::json), json::parse(deep65, {}, options)).error() ==
        value_errc::too_deep);
  CHECK(json_to_text(describe_type(oids::json), json::value(1.0 / 0.0)).error() ==
        value_errc::bad_format);
}

TEST_CASE("bytea in hex", "[value]") {
  CHECK(to_json(oids::bytea, "\\x0aff") == R"("\\x0aff")");
  CHECK(to_json(oids::bytea, "\\x") == R"("\\x")");
  CHECK(to_text(oids::bytea, R"("\\xDEADbeef")") == "\\xDEADbeef");
  for (auto bad : {"", "\\x0", "\\xzz", "abc", "\\000"}) {
    INFO(bad);
    CHECK(text_error(oids::bytea, bad) == value_errc::bad_text);
  }
  CHECK(json_error(oids::bytea, R"("abc")") == value_errc::bad_format);
}

TEST_CASE("types fieldsync does not know travel as their text", "[value]") {
  constexpr type_oid int4range = 3904;
  CHECK(describe_type(int4range).cls == type_class::other);
  CHECK(to_json(int4range, "[1,10)") == "\"[1,10)\"");
  CHECK(to_json(123456, "") == "\"\"");
  CHECK(to_text(int4range, "\"[1,10)\"") == "[1,10)");
  CHECK(json_error(int4range, "5") == value_errc::wrong_type);
}

TEST_CASE("NULL is the caller's business", "[value]") {
  for (const auto& t : known_column_types()) {
    INFO(t.name);
    CHECK(json_to_text(t, json::value(nullptr)).error() == value_errc::wrong_type);
  }
}

TEST_CASE("arrays from PostgreSQL's array text", "[value][array]") {
  CHECK(to_json(1009, R"({a,"b,c","d\"e","f\\g",NULL,"NULL","",null,"  x ",ünï})") ==
        R"(["a","b,c","d\"e","f\\g",null,"NULL","",null,"  x ","ünï"])");
  CHECK(to_json(1007, "{}") == "[]");
  CHECK(to_json(1007, " { 1 , 2 } ") == "[1,2]");
  CHECK(to_json(1009, R"({a\,b,c\ })") == R"(["a,b","c "])");  // escapes in unquoted elements
  CHECK(to_json(1007, "{{1,2},{3,4}}") == "[[1,2],[3,4]]");
  CHECK(to_json(1007, "{{{1},{2}},{{3},{4}}}") == "[[[1],[2]],[[3],[4]]]");
  // A lower bound has no place in a JSON array: such an array keeps its text.
  CHECK(to_json(1007, "[0:1]={5,6}") == "\"[0:1]={5,6}\"");
  CHECK(to_json(1007, "[1:2][-1:0]={{1,2},{3,4}}") == "\"[1:2][-1:0]={{1,2},{3,4}}\"");
  CHECK(to_json(1001, R"({"\\x00",NULL})") == R"(["\\x00",null])");
  CHECK(to_json(1231, "{0.1,0.5,12.50,NaN}") == R"(["0.1",5E-1,"12.50","NaN"])");
  CHECK(to_json(1185, R"({"2026-11-25 11:04:51+00"})") == R"(["2026-11-25T11:04:51Z"])");
  CHECK(to_json(3807, R"({"{\"k\": \"v\"}","[1, 2]","\"null\"",NULL})") ==
        R"(["{\"k\": \"v\"}","[1, 2]","\"null\"",null])");
  CHECK(to_json(3807, "{{1,2},{3,4}}") == R"([["1","2"],["3","4"]])");
  CHECK(to_json(1016, "{1,9007199254740993}") == R"([1,"9007199254740993"])");
  CHECK(to_json(1000, "{t,f}") == "[true,false]");

  for (auto bad : {"", "1,2", "{1,2", "{1,2}x", "{{1},{2,3}}", "{{1},2}", "{1,{2}}", "{{}}", "{,}",
                   "{1,}", "{a\"b\"}", "{\"a}", "{a\\}", "[1:2]{1,2}", "[1:2={1,2}", "{x}"}) {
    INFO(bad);
    CHECK(text_error(1007, bad) == value_errc::bad_text);
  }
  CHECK(text_error(1007, "{{{{{{1}}}}}}") == boost::system::error_code{});
  CHECK(text_error(1007, "{{{{{{{1}}}}}}}") == value_errc::too_deep);
  CHECK(text_error(1016, "{9223372036854775808}") == value_errc::bad_text);
  // jsonb elements are text: their own nesting does not count.
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  CHECK(text_error(3807, "{{\"" + deep + "\"}}") == boost::system::error_code{});
}

TEST_CASE("arrays to PostgreSQL's array text", "[value][array]") {
  // As array_out prints it: quotes only where they are needed.
  CHECK(to_text(1009, R"(["a","b,c","d\"e","f\\g",null,"NULL","","{x}"," s ","null"])") ==
        R"({a,"b,c","d\"e","f\\g",NULL,"NULL","","{x}"," s ","null"})");
  CHECK(to_text(1007, "[]") == "{}");
  CHECK(to_text(1007, "[[1,2],[3,4]]") == "{{1,2},{3,4}}");
  CHECK(to_text(1007, "[[null,2]]") == "{{NULL,2}}");
  CHECK(to_text(3807, R"(["{\"k\": \"v\"}","[1,2]",null])") == R"({"{\"k\": \"v\"}","[1,2]",NULL})");
  CHECK(to_text(1001, R"(["\\x00"])") == R"({"\\x00"})");
  CHECK(to_text(1185, R"(["2026-11-25T11:04:51Z"])") == R"({"2026-11-25 11:04:51+00"})");
  CHECK(to_text(1022, R"([1e21,0.1,"NaN"])") == "{1e+21,0.1,NaN}");
  CHECK(to_text(1007, R"("[0:1]={5,6}")") == "[0:1]={5,6}");
  for (auto bad : {"[[1],[2,3]]", "[[1],2]", "[1,[2]]", "[[]]", "[[1],[]]"}) {
    INFO(bad);
    CHECK(json_error(1007, bad) == value_errc::bad_format);
  }
  CHECK(json_error(1007, "[[[[[[1]]]]]]") == boost::system::error_code{});
  CHECK(json_error(1007, "[[[[[[[1]]]]]]]") == value_errc::too_deep);
  CHECK(json_error(1007, R"(["x"])") == value_errc::bad_format);
  CHECK(json_error(1005, "[40000]") == value_errc::out_of_range);
  CHECK(json_error(2951, R"(["nope"])") == value_errc::bad_format);
  CHECK(json_error(1007, "5") == value_errc::wrong_type);
  CHECK(json_error(1007, R"("{1,x}")") == value_errc::bad_format);
}

TEST_CASE("JSON -> text -> JSON is the identity for every class", "[value]") {
  const std::vector<std::pair<type_oid, std::string>> samples = {
      {oids::bool_, "t"},
      {oids::int8, "-9223372036854775808"},
      {oids::float4, "3.4028235e+38"},
      {oids::float8, "-0"},
      {oids::float8, "1e-07"},
      {oids::numeric, "0.1"},
      {oids::numeric, "0.5"},
      {oids::numeric, "10000000000000000000000"},
      {oids::numeric, "-12.25"},
      {oids::text, "a\"b\\c"},
      {oids::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {oids::date, "0044-03-15 BC"},
      {oids::timetz, "00:00:00-03:30"},
      {oids::timestamp, "2026-11-25 11:04:51.5"},
      {oids::timestamptz, "0001-01-01 00:30:00+01"},
      {oids::interval, "P-1DT-1.5S"},
      {oids::jsonb, R"({"a":[1,2.5,"x"]})"},
      {oids::bytea, "\\x0aff"},
      {1009, R"({"",NULL,"NULL","a,b"})"},
      {1231, "{0.1,0.5,NaN}"},
      {1007, "{{1,2},{3,4}}"},
      {3807, R"({"[1,2]",NULL})"},
      {1185, R"({"2026-11-25 11:04:51+02"})"},
  };
  for (const auto& [oid, text] : samples) {
    INFO(describe_type(oid).name << ": " << text);
    const auto type = describe_type(oid);
    auto j = text_to_json(type, text);
    REQUIRE(j);
    auto back = json_to_text(type, *j);
    REQUIRE(back);
    auto again = text_to_json(type, *back);
    REQUIRE(again);
    CHECK(json::serialize(*again) == json::serialize(*j));
  }
}

TEST_CASE("text -> JSON -> text gives PostgreSQL's text back, byte for byte", "[value]") {
  // What PostgreSQL 15 prints (DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601,
  // extra_float_digits=3); the e2e type-fidelity test checks the same against a server.
  const std::vector<std::pair<type_oid, std::string>> samples = {
      {oids::bool_, "t"},
      {oids::int8, "-9223372036854775808"},
      {oids::int8, "9007199254740993"},
      {oids::float4, "3.4028235e+38"},
      {oids::float4, "1.1"},
      {oids::float4, "1e+06"},
      {oids::float4, "123456"},
      {oids::float4, "1e-05"},
      {oids::float4, "1e-45"},
      {oids::float4, "-0"},
      {oids::float8, "1.4000000000000001"},
      {oids::float8, "1.7976931348623157e+308"},
      {oids::float8, "5e-324"},
      {oids::float8, "1e+21"},
      {oids::float8, "1.2345678901234568e+20"},
      {oids::float8, "1e+15"},
      {oids::float8, "999999999999999"},
      {oids::float8, "0.0001"},
      {oids::float8, "1e-05"},
      {oids::float8, "3"},
      {oids::float8, "-Infinity"},
      {oids::numeric, "0.1"},
      {oids::numeric, "12.50"},
      {oids::numeric, "0.5"},
      {oids::numeric, "-9007199254740993"},
      {oids::numeric, "NaN"},
      {oids::numeric, "Infinity"},
      {oids::date, "0044-03-15 BC"},
      {oids::date, "5874897-12-31"},
      {oids::date, "infinity"},
      {oids::timestamp, "0044-03-15 11:04:51.5 BC"},
      {oids::timestamp, "294276-12-31 23:59:59.999999"},
      {oids::timestamptz, "2026-11-25 11:04:51.123456+00"},
      {oids::timestamptz, "4713-01-01 00:00:00+00 BC"},
      {oids::timetz, "12:34:56.789+05:30"},
      {oids::interval, "P1Y2M3DT4H5M6.789S"},
      {oids::jsonb, R"({"n": 0.1, "big": 98765432109876543210})"},
      {oids::json, " [1, 2.50, 1e400] "},
      {oids::uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {1009, R"({a,"b c",NULL,"NULL","","q\"b\\s","{x}"})"},
      {1007, "{{1,2},{3,4}}"},
      {1007, "[0:1]={7,8}"},
      {1022, "{NaN,Infinity,-0,1.4000000000000001,1e-300}"},
      {1185, R"({"2026-11-25 11:04:51+00",-infinity})"},
      {1182, R"({"4713-01-01 BC",infinity})"},
      {3807, R"({"{\"a\": 1}",NULL,"[1, 2]"})"},
      {1000, "{t,f,NULL}"},
      {1016, "{9007199254740993,1}"},
  };
  for (const auto& [oid, text] : samples) {
    INFO(describe_type(oid).name << ": " << text);
    auto j = text_to_json(describe_type(oid), text);
    REQUIRE(j);
    auto back = json_to_text(describe_type(oid), *j);
    REQUIRE(back);
    CHECK(*back == text);
  }
}

TEST_CASE("value errors have messages in their own category", "[value]") {
  boost::system::error_code ec = value_errc::too_deep;
  CHECK(ec.category().name() == std::string("fieldsync.value"));
  CHECK(ec.message() == "value nested too deeply");
}
