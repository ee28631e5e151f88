// NumericDates as signed tokens may carry them (server/access/token_time.hpp): floored to
// whole seconds and clamped, so that no later arithmetic overflows.

#include "server/access/token_time.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

using namespace fieldsync::server;
namespace json = boost::json;

TEST_CASE("NumericDates are floored and clamped to the far-future limit", "[token_time]") {
  CHECK(numeric_date_seconds(json::value(std::int64_t{1'800'000'000})) == 1'800'000'000);
  CHECK(numeric_date_seconds(json::value(1.9)) == 1);
  CHECK(numeric_date_seconds(json::value(-1.5)) == -2);
  CHECK(numeric_date_seconds(json::value(std::int64_t{1} << 62)) == numeric_date_limit);
  CHECK(numeric_date_seconds(json::value(std::numeric_limits<std::int64_t>::min())) ==
        -numeric_date_limit);
  CHECK(numeric_date_seconds(json::value(std::numeric_limits<std::uint64_t>::max())) ==
        numeric_date_limit);
  CHECK(numeric_date_seconds(json::value(1e300)) == numeric_date_limit);
  CHECK(numeric_date_seconds(json::value(-1e300)) == -numeric_date_limit);
  CHECK(numeric_date_seconds(json::value(std::numeric_limits<double>::infinity())) ==
        numeric_date_limit);
  CHECK(!numeric_date_seconds(json::value(std::numeric_limits<double>::quiet_NaN())));
  CHECK(numeric_date_seconds(json::value(std::int64_t{253'402'300'799})) ==
        numeric_date_limit);  // year 9999
  CHECK(!numeric_date_seconds(json::value("1800000000")));
  CHECK(!numeric_date_seconds(json::value(true)));
  CHECK(!numeric_date_seconds(json::value(nullptr)));
}

TEST_CASE("claims read as absent, present or malformed", "[token_time]") {
  json::object claims{{"exp", 10}, {"iat", "yesterday"}};
  std::int64_t out = 0;
  CHECK(read_claim_date(claims, "exp", out) == claim_date_status::present);
  CHECK(out == 10);
  CHECK(read_claim_date(claims, "iat", out) == claim_date_status::malformed);
  CHECK(read_claim_date(claims, "nbf", out) == claim_date_status::absent);
}

TEST_CASE("times of clamped seconds and microseconds stay inside system_clock", "[token_time]") {
  using std::chrono::system_clock;
  const auto limit = time_of_seconds(numeric_date_limit);
  CHECK(time_of_seconds(std::numeric_limits<std::int64_t>::max()) == limit);
  CHECK(time_of_seconds(std::numeric_limits<std::int64_t>::min()) ==
        time_of_seconds(-numeric_date_limit));
  CHECK(time_of_micros(std::numeric_limits<std::int64_t>::max()) == limit);
  CHECK(time_of_micros(1'500'000) ==
        system_clock::time_point(std::chrono::microseconds(1'500'000)));
  CHECK(seconds_of(limit) == numeric_date_limit);
  CHECK(seconds_of(system_clock::time_point(std::chrono::milliseconds(-1))) == -1);
  // Room left for the arithmetic done on an expiry: a leeway, a timer delay.
  CHECK(limit.time_since_epoch() + std::chrono::hours(24 * 365 * 50) > limit.time_since_epoch());
}
