#include "protocol/civil_calendar.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::protocol;

TEST_CASE("the calendar counts days from 1970-01-01", "[civil_calendar]") {
  CHECK(days_from_civil({1970, 1, 1}) == 0);
  CHECK(civil_from_days(0) == civil_date{1970, 1, 1});
  CHECK(civil_from_days(-1) == civil_date{1969, 12, 31});
  CHECK(days_from_civil({2000, 1, 1}) == 10957);  // PostgreSQL's epoch
  CHECK(days_from_civil({2000, 3, 1}) == 11017);
  CHECK(days_from_civil({2026, 11, 24}) == 20781);
}

TEST_CASE("the calendar's edges: year 0, negative years, 9999 and 10000", "[civil_calendar]") {
  CHECK(days_from_civil({1, 1, 1}) == -719162);
  CHECK(days_from_civil({0, 12, 31}) == -719163);  // 1 BC ends the day before 1 AD
  CHECK(days_from_civil({0, 3, 1}) == -719468);    // the start of the algorithm's era 0
  CHECK(days_from_civil({0, 1, 1}) == -719528);    // 1 BC is a leap year: 366 days
  CHECK(civil_from_days(-719528) == civil_date{0, 1, 1});
  CHECK(days_from_civil({-4713, 11, 24}) == -2440588);  // PostgreSQL's first date, 4714 BC
  CHECK(civil_from_days(-2440588) == civil_date{-4713, 11, 24});
  CHECK(days_from_civil({9999, 12, 31}) == 2932896);
  CHECK(days_from_civil({10000, 1, 1}) == 2932897);
  CHECK(civil_from_days(2932897) == civil_date{10000, 1, 1});
  CHECK(civil_from_days(days_from_civil({5874897, 12, 31})) == civil_date{5874897, 12, 31});

  // Both ways agree across eras on each side of year 0.
  for (std::int64_t d = -3'000'000; d < 3'000'000; d += 97) {
    REQUIRE(days_from_civil(civil_from_days(d)) == d);
  }
  for (std::int64_t d = -800; d < 800; ++d) {
    const civil_date c = civil_from_days(d);
    const civil_date next = civil_from_days(d + 1);
    REQUIRE(days_from_civil(c) == d);
    // Consecutive days: the next day of the month, or the 1st after the month's last day.
    if (c.day == days_in_month(c.year, c.month)) {
      REQUIRE(next.day == 1);
    } else {
      REQUIRE(next == civil_date{c.year, c.month, c.day + 1});
    }
  }
}

TEST_CASE("leap years and leap days", "[civil_calendar]") {
  CHECK(is_leap_year(2024));
  CHECK(is_leap_year(2000));
  CHECK(is_leap_year(2400));
  CHECK_FALSE(is_leap_year(1900));
  CHECK_FALSE(is_leap_year(2100));
  CHECK_FALSE(is_leap_year(2026));
  CHECK(is_leap_year(0));     // 1 BC
  CHECK(is_leap_year(-4));    // 5 BC
  CHECK(is_leap_year(-400));  // 401 BC
  CHECK_FALSE(is_leap_year(-1));
  CHECK_FALSE(is_leap_year(-100));
  CHECK(days_in_month(2024, 2) == 29);
  CHECK(days_in_month(2100, 2) == 28);
  CHECK(days_in_month(0, 2) == 29);
  CHECK(days_in_month(2026, 11) == 30);
  CHECK(days_in_month(2026, 12) == 31);
  CHECK(civil_from_days(days_from_civil({2000, 2, 29}) + 1) == civil_date{2000, 3, 1});
  CHECK(civil_from_days(days_from_civil({1900, 2, 28}) + 1) == civil_date{1900, 3, 1});
  CHECK(civil_from_days(days_from_civil({-4, 2, 29}) + 1) == civil_date{-4, 3, 1});
}

TEST_CASE("weekdays", "[civil_calendar]") {
  CHECK(weekday_from_days(0) == 4);      // 1970-01-01, a Thursday
  CHECK(weekday_from_days(20781) == 2);  // 2026-11-24, a Tuesday
  CHECK(weekday_from_days(-5) == 6);     // 1969-12-27, a Saturday
  CHECK(weekday_from_days(-719162) == 1);  // 0001-01-01, a Monday
  for (std::int64_t d = -30; d < 30; ++d) {
    REQUIRE(weekday_from_days(d + 7) == weekday_from_days(d));
    REQUIRE(weekday_from_days(d) < 7);
  }
}

TEST_CASE("floor_div rounds toward negative infinity", "[civil_calendar]") {
  CHECK(floor_div(86399, 86400) == 0);
  CHECK(floor_div(86400, 86400) == 1);
  CHECK(floor_div(-1, 86400) == -1);
  CHECK(floor_div(-86400, 86400) == -1);
  CHECK(floor_div(-86401, 86400) == -2);
}
