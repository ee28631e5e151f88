#pragma once
// The proleptic Gregorian calendar on plain integers: days since 1970-01-01 and civil dates
// with astronomical year numbering (1 BC is year 0, 2 BC is -1), which is how PostgreSQL
// counts too. The one calendar of the tree: the value texts, the filter language, the change
// log and the demo data all convert through it, so they agree on every date, including the
// leap days and the years before 1 AD. Everything is constexpr and needs no time zone.

#include <cstdint>

namespace fieldsync::protocol {

struct civil_date {
  std::int64_t year = 1970;  // astronomical
  unsigned month = 1;        // 1..12
  unsigned day = 1;          // 1..31

  friend constexpr bool operator==(const civil_date&, const civil_date&) = default;
};

// Rounds toward negative infinity, so that the second before midnight of day -1 is
// still in day -1.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

constexpr bool is_leap_year(std::int64_t year) noexcept {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

// month is 1..12.
constexpr unsigned days_in_month(std::int64_t year, unsigned month) noexcept {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

// Howard Hinnant's days_from_civil: the years are counted in 400-year eras (146097 days)
// that start on March 1st, so that the leap day is the last day of a year. 719468 is the
// number of days from 0000-03-01 to 1970-01-01.
constexpr std::int64_t days_from_civil(civil_date d) noexcept {
  const std::int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                             // 0..399
  const unsigned doy = (153 * (d.month > 2 ? d.month - 3 : d.month + 9) + 2) / 5 + d.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                        // 0..146096
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// The inverse of days_from_civil.
constexpr civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

// 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
constexpr unsigned weekday_from_days(std::int64_t z) noexcept {
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

}  // namespace fieldsync::protocol
