#include "storage/civil_time.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::storage;

TEST_CASE("civil dates convert both ways", "[civil_time]") {
  CHECK(days_from_civil({1970, 1, 1}) == 0);
  CHECK(days_from_civil({2026, 11, 24}) == 20781);
  CHECK(days_from_civil({2000, 3, 1}) == 11017);
  for (std::int64_t d = -800; d < 80000; d += 13) {
    civil_date c = civil_from_days(d);
    REQUIRE(days_from_civil(c) == d);
  }
  CHECK(format_date(20781) == "2026-11-24");
  CHECK(format_date(days_from_civil({2028, 2, 29})) == "2028-02-29");
}

TEST_CASE("weekdays and month lengths", "[civil_time]") {
  CHECK(weekday_from_days(0) == 4);      // 1970-01-01, a Thursday
  CHECK(weekday_from_days(20781) == 2);  // 2026-11-24, a Tuesday
  CHECK(weekday_from_days(-5) == 6);
  CHECK(days_in_month(2024, 2) == 29);
  CHECK(days_in_month(2100, 2) == 28);
  CHECK(days_in_month(2000, 2) == 29);
  CHECK(days_in_month(2026, 11) == 30);
}

TEST_CASE("timestamps are printed in UTC with an explicit offset", "[civil_time]") {
  CHECK(format_timestamp(0) == "1970-01-01 00:00:00+00");
  CHECK(format_timestamp(20781LL * 86400 + 8 * 3600 + 15 * 60 + 7) == "2026-11-24 08:15:07+00");
  CHECK(format_timestamp(-1) == "1969-12-31 23:59:59+00");
}
