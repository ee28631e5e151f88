#include "protocol/decimal.hpp"

#include "tests/unit/seeded_rng.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <string>

using fieldsync::protocol::decimal;
using fieldsync::test::rng;

namespace {

__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

decimal d(std::string_view text) {
  auto v = decimal::parse(text);
  REQUIRE(v);
  return *v;
}

std::string sum(std::string_view a, std::string_view b) {
  return add(d(a), d(b))->to_string();
}
std::string difference(std::string_view a, std::string_view b) {
  return subtract(d(a), d(b))->to_string();
}

std::string i128_to_string(int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  uint128 m = negative ? -static_cast<uint128>(v) : static_cast<uint128>(v);
  std::string out;
  while (m) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  }
  return negative ? "-" + out : out;
}

}  // namespace

TEST_CASE("decimal parses PostgreSQL numeric text and JSON number spellings", "[decimal]") {
  CHECK(d("0").to_string() == "0");
  CHECK(d("-0").to_string() == "0");
  CHECK(d("-0.00").to_string() == "0.00");
  CHECK(d("12.50").to_string() == "12.50");
  CHECK(d("12.50").scale() == 2);
  CHECK(d("+3").to_string() == "3");
  CHECK(d(".5").to_string() == "0.5");
  CHECK(d("5.").to_string() == "5");
  CHECK(d("007.10").to_string() == "7.10");
  CHECK(d("1.5e3").to_string() == "1500");
  CHECK(d("1.5E+3").to_string() == "1500");
  CHECK(d("2e-4").to_string() == "0.0002");
  CHECK(d("-1.25e1").to_string() == "-12.5");
  CHECK(d("0.000").to_string() == "0.000");
  for (auto bad : {"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", " 1", "1 ", "NaN",
                   "Infinity", "-Infinity", "0x10", "1e1000000", "--1", "1-"}) {
    INFO(bad);
    CHECK_FALSE(decimal::parse(bad));
  }
}

TEST_CASE("decimal bounds its size", "[decimal]") {
  std::string digits(decimal::max_digits, '9');
  CHECK(decimal::parse(digits));
  CHECK_FALSE(decimal::parse(digits + "9"));
  CHECK_FALSE(decimal::parse("1e" + std::to_string(decimal::max_digits)));
  CHECK(decimal::parse("1e" + std::to_string(decimal::max_digits - 1)));
  CHECK_FALSE(decimal::parse("0." + std::string(decimal::max_digits, '0') + "1"));
  CHECK_FALSE(add(d(digits), d("1")));  // one digit too many
  CHECK_FALSE(decimal::parse(std::string(5000, '1')));
}

TEST_CASE("decimal says why a text is refused", "[decimal]") {
  auto why = [](std::string_view text) {
    decimal::parse_error e{};
    REQUIRE_FALSE(decimal::parse(text, e));
    return e;
  };
  using pe = decimal::parse_error;
  CHECK(why("") == pe::not_a_number);
  CHECK(why("12a") == pe::not_a_number);
  CHECK(why("1e") == pe::not_a_number);
  CHECK(why("NaN") == pe::not_a_number);
  CHECK(why(std::string(decimal::max_digits + 1, '9')) == pe::too_many_digits);
  CHECK(why("1e1000000") == pe::too_many_digits);
  CHECK(why("0e-999999") == pe::too_many_digits);
  CHECK(why(std::string(5000, '1')) == pe::too_many_digits);
  decimal::parse_error e{};
  CHECK(decimal::parse("-1.50", e)->to_string() == "-1.50");
}

TEST_CASE("decimal adds exactly", "[decimal]") {
  // The counter case from the design: "0.10" + ("0.20" - "0.00") = "0.30".
  CHECK(add(d("0.10"), *subtract(d("0.20"), d("0.00")))->to_string() == "0.30");
  CHECK(sum("0.1", "0.2") == "0.3");
  CHECK(sum("1.5", "2.25") == "3.75");
  CHECK(sum("-1.5", "1.5") == "0.0");
  CHECK(sum("-1.50", "0.25") == "-1.25");
  CHECK(sum("0.25", "-1.50") == "-1.25");
  CHECK(sum("-0.25", "-1.5") == "-1.75");
  CHECK(sum("999.99", "0.01") == "1000.00");
  CHECK(difference("1000", "0.001") == "999.999");
  CHECK(difference("5", "12.5") == "-7.5");
  CHECK(difference("-5", "-5") == "0");
  // Beyond double precision and beyond int64.
  CHECK(sum("9007199254740993", "1") == "9007199254740994");
  CHECK(sum("9223372036854775807", "1") == "9223372036854775808");
  CHECK(sum("123456789012345678901234567890.123456789", "0.000000001") ==
        "123456789012345678901234567890.123456790");
  CHECK(difference("100000000000000000000000000000", "0.01") == "99999999999999999999999999999.99");
}

TEST_CASE("decimal compares by value", "[decimal]") {
  CHECK((compare(d("1.5"), d("1.50")) == 0));
  CHECK((compare(d("-0"), d("0.00")) == 0));
  CHECK((compare(d("-2"), d("-1.5")) < 0));
  CHECK((compare(d("-1"), d("0.001")) < 0));
  CHECK((compare(d("10"), d("9.999")) > 0));
  CHECK((compare(d("100000000000000000001"), d("100000000000000000000.5")) > 0));
  CHECK(d("1.50").normalized().to_string() == "1.5");
  CHECK(d("100").normalized().to_string() == "100");
  CHECK(d("-0.000").normalized().to_string() == "0");
}

TEST_CASE("decimal converts to and from machine numbers", "[decimal]") {
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  CHECK(decimal::from_int(min).to_string() == "-9223372036854775808");
  CHECK(decimal::from_int(min).to_int64() == min);
  CHECK(decimal::from_int(max).to_int64() == max);
  CHECK_FALSE(add(decimal::from_int(max), d("1"))->to_int64());
  CHECK(add(decimal::from_int(max), d("1"))->to_uint64() == 9223372036854775808ull);
  CHECK_FALSE(subtract(decimal::from_int(min), d("1"))->to_int64());
  CHECK(decimal::from_uint(std::numeric_limits<std::uint64_t>::max()).to_string() ==
        "18446744073709551615");
  CHECK(d("12.00").to_int64() == 12);
  CHECK_FALSE(d("12.5").to_int64());
  CHECK_FALSE(d("-1").to_uint64());
  CHECK(decimal::from_double(0.1)->to_string() == "0.1");
  CHECK(decimal::from_double(-2.5)->to_string() == "-2.5");
  CHECK(decimal::from_double(1e21)->to_string() == "1000000000000000000000");
  CHECK(decimal::from_double(1e-7)->to_string() == "0.0000001");
  CHECK_FALSE(decimal::from_double(std::numeric_limits<double>::infinity()));
  CHECK_FALSE(decimal::from_double(std::numeric_limits<double>::quiet_NaN()));
  CHECK(decimal::from_double(std::numeric_limits<double>::max()));
  CHECK(decimal::from_double(std::numeric_limits<double>::denorm_min()));
  CHECK(d("0.3").to_double() == 0.3);
  CHECK_FALSE(d("1" + std::string(400, '0')).to_double());
}

TEST_CASE("decimal arithmetic agrees with 128-bit integers", "[decimal][property]") {
  rng r(42);
  for (int i = 0; i < 5000; ++i) {
    int128 a = static_cast<int128>(r.between(INT64_MIN, INT64_MAX)) * r.between(-3, 3);
    int128 b = static_cast<int128>(r.between(INT64_MIN, INT64_MAX));
    if (r.chance(20)) b = r.between(-1000, 1000);
    auto scale = static_cast<int>(r.below(4));
    auto with_scale = [&](int128 v) {
      // v * 10^-scale, written out by hand.
      std::string s = i128_to_string(v < 0 ? -v : v);
      if (scale > 0) {
        if (s.size() <= static_cast<std::size_t>(scale)) s.insert(0, scale + 1 - s.size(), '0');
        s.insert(s.size() - static_cast<std::size_t>(scale), ".");
      }
      return v < 0 ? "-" + s : s;
    };
    INFO(with_scale(a) << " " << with_scale(b));
    CHECK(sum(with_scale(a), with_scale(b)) == with_scale(a + b));
    CHECK(difference(with_scale(a), with_scale(b)) == with_scale(a - b));
    CHECK((compare(d(with_scale(a)), d(with_scale(b))) < 0) == (a < b));
  }
}
