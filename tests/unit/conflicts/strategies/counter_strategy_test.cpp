#include "conflicts/strategies/counter_strategy.hpp"

#include "../merge_test_support.hpp"
#include "conflicts/canonical_value.hpp"
#include "protocol/decimal.hpp"
#include "conflicts/merge_errc.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::conflicts;
using namespace fieldsync::conflicts::test;
using fieldsync::protocol::decimal;
using fieldsync::protocol::type_class;

namespace {

std::string counter(const char* base, std::string_view client, std::string_view server,
                    const fieldsync::protocol::column_type& type = {}) {
  return merged_text(merge_one("counter", base, client, server, {}, {}, type));
}

// A random counter value in one of the forms a numeric or integer column arrives in.
boost::json::value random_number(rng& r, int form) {
  switch (form) {
    case 0:
      return r.between(-1'000'000'000'000, 1'000'000'000'000);
    case 1: {
      // A decimal string with 0 to 3 fraction digits, up to 30 digits: beyond any double.
      std::string digits = std::to_string(r.below(1'000'000'000));
      if (r.chance(30)) digits += std::to_string(r.below(1'000'000'000)) + "123456789012";
      auto scale = r.below(4);
      if (scale > 0) digits += "." + std::to_string(r.below(1000)).substr(0, scale);
      return boost::json::value((r.chance(30) ? "-" : "") + digits);
    }
    default:
      return static_cast<double>(r.between(-100000, 100000)) / 100.0;
  }
}

}  // namespace

TEST_CASE("counter: server + (client - base)", "[counter]") {
  CHECK(counter("10", "15", "12") == "17");
  CHECK(counter("10", "7", "12") == "9");  // a decrement
  CHECK(counter("5", "6", "6") == "7");    // two devices each add 1: both count
  CHECK(counter("5", "4", "6") == "5");
  CHECK(counter(nullptr, "3", "5") == "8");  // absent base: the client's value is its delta
  CHECK(counter("null", "3", "5") == "8");   // null counts as 0
  CHECK(counter("2", "5", "null") == "3");
  CHECK(counter("2", "null", "10") == "8");
}

TEST_CASE("counter: integers stay integers", "[counter]") {
  auto r = merge_one("counter", "10", "15", "12");
  REQUIRE(r.has_value());
  CHECK(r->value.is_int64());
  // int8 values beyond 2^53 stay exact.
  CHECK(counter("9007199254740993", "9007199254740995", "9007199254740994") == "9007199254740996");
  // Beyond int64 but within uint64: still an integer.
  CHECK(counter("0", "1", "9223372036854775807") == "9223372036854775808");
  CHECK(counter("0", "-1", "-9223372036854775808") ==
        "rejected:" + make_error_code(merge_errc::out_of_range).message());
  CHECK(counter("0", "18446744073709551615", "1") ==
        "rejected:" + make_error_code(merge_errc::out_of_range).message());
}

TEST_CASE("counter: decimal strings add exactly", "[counter]") {
  CHECK(counter(R"("0.00")", R"("0.20")", R"("0.10")") == R"("0.30")");
  CHECK(counter(R"("1.00")", R"("0.25")", R"("2.50")") == R"("1.75")");    // client took 0.75
  CHECK(counter(R"("0.00")", R"("-5.10")", R"("2.05")") == R"("-3.05")");  // below zero
  CHECK(counter(R"("1.5")", R"("1.75")", R"("2")") == R"("2.25")");        // the larger scale
  CHECK(counter(R"("123456789012345678901234567890.10")", R"("123456789012345678901234567891.10")",
                R"("123456789012345678901234567890.15")") ==
        R"("123456789012345678901234567891.15")");
  // Mixed with integers and doubles: any decimal string makes the result one.
  CHECK(counter("10", "11", R"("0.50")") == R"("1.50")");
  CHECK(counter("0.5", R"("1.25")", "2") == R"("2.75")");
  // A numeric column with the schema: numbers may come back as numbers.
  auto r = merge_one("counter", "0.1", "0.3", "0.2");  // exactly 0.4, not 0.4000000000000001
  REQUIRE(r.has_value());
  CHECK(r->value == boost::json::value(0.4));
}

TEST_CASE("counter: a floating column gets a double", "[counter]") {
  auto float8 = type_of(type_class::floating);
  auto r = merge_one("counter", "0.1", R"("0.3")", "0.2", {}, {}, float8);
  REQUIRE(r.has_value());
  CHECK(r->value.is_double());
  CHECK(r->value.get_double() == 0.4);
}

TEST_CASE("counter: values that are not numbers are not mergeable", "[counter]") {
  auto not_mergeable = "rejected:" + make_error_code(merge_errc::not_mergeable).message();
  CHECK(counter("1", R"("two")", "3") == not_mergeable);
  CHECK(counter("1", "2", R"("NaN")") == not_mergeable);
  CHECK(counter(R"("x")", "2", "3") == not_mergeable);
  CHECK(counter("1", "[2]", "3") == not_mergeable);
  CHECK(counter("1", "true", "3") == not_mergeable);
}

TEST_CASE("counter: two concurrent mutations give the same row in either order",
          "[counter][property]") {
  rng r(31337);
  auto config = config_with("counter");
  fieldsync::protocol::collection_schema schema;
  schema.columns.push_back({"n", type_of(type_class::numeric)});
  for (int i = 0; i < 4000; ++i) {
    int form = static_cast<int>(r.below(3));
    // One column's values share a form most of the time; sometimes they mix, as a numeric
    // column's values do (numbers when a double carries them, strings otherwise).
    auto value = [&] {
      return random_number(r, r.chance(80) ? form : static_cast<int>(r.below(3)));
    };
    boost::json::object base_row{{"id", 1}, {"n", value()}};
    server_row start{base_row, {}, std::nullopt};
    mutation m1{{{"n", value()}}, {{"n", base_row.at("n")}}, {}};
    mutation m2{{{"n", value()}}, {{"n", base_row.at("n")}}, {}};
    auto orders = both_orders(config, start, m1, m2, &schema);
    const auto& a = orders.first_then_second.row.at("n");
    const auto& b = orders.second_then_first.row.at("n");
    INFO(boost::json::serialize(base_row)
         << " " << boost::json::serialize(m1.changes) << " " << boost::json::serialize(m2.changes)
         << " -> " << boost::json::serialize(a) << " / " << boost::json::serialize(b));
    CHECK(same_value(a, b, schema.columns[0].type));
    CHECK(a == b);  // spelled alike too: the same operands meet in either order
    // And it is the sum of both deltas, exactly.
    auto as_decimal = [](const boost::json::value& v) {
      return v.is_string()   ? *decimal::parse(v.get_string())
             : v.is_double() ? *decimal::from_double(v.get_double())
                             : decimal::from_int(v.as_int64());
    };
    auto want = add(*subtract(as_decimal(m1.changes.at("n")), as_decimal(base_row.at("n"))),
                    as_decimal(m2.changes.at("n")));
    CHECK((compare(as_decimal(a), *want) == 0));
    CHECK(apply(config, apply(config, start, m1, &schema), m2, &schema).row ==
          orders.first_then_second.row);
  }
}

TEST_CASE("counter: a duplicate counts twice (mutation ids prevent duplicates)", "[counter]") {
  auto config = config_with("counter");
  server_row start{{{"id", 1}, {"calls_done", 5}}, {}, std::nullopt};
  mutation plus_one{{{"calls_done", 6}}, {{"calls_done", 5}}, {}};
  auto once = apply(config, start, plus_one);
  CHECK(once.row.at("calls_done") == 6);
  CHECK(apply(config, once, plus_one).row.at("calls_done") == 7);
}
