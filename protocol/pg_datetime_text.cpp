#include "protocol/pg_datetime_text.hpp"

#include <cstdint>
#include <cstdio>

namespace fieldsync::protocol {

namespace {

class scanner {
 public:
  explicit scanner(std::string_view s) noexcept : s_(s) {}

  bool at_end() const noexcept { return pos_ == s_.size(); }
  std::size_t pos() const noexcept { return pos_; }
  std::string_view from(std::size_t start) const noexcept {
    return s_.substr(start, pos_ - start);
  }
  bool next_is(char c) const noexcept { return pos_ < s_.size() && s_[pos_] == c; }
  bool next_is_digit() const noexcept {
    return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9';
  }

  bool eat(char c) noexcept {
    if (!next_is(c)) return false;
    ++pos_;
    return true;
  }
  bool eat(std::string_view lit) noexcept {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  std::optional<char> eat_one_of(std::string_view set) noexcept {
    if (pos_ < s_.size() && set.find(s_[pos_]) != std::string_view::npos) return s_[pos_++];
    return std::nullopt;
  }

  // Between min and max decimal digits (as many as there are, up to max).
  std::optional<std::int64_t> number(std::size_t min, std::size_t max) noexcept {
    std::int64_t v = 0;
    std::size_t n = 0;
    while (n < max && next_is_digit()) {
      v = v * 10 + (s_[pos_] - '0');
      ++pos_;
      ++n;
    }
    if (n < min) return std::nullopt;
    return v;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// Years in PostgreSQL's range (4713 BC to 5874897 AD) have at most 7 digits.
constexpr std::size_t max_year_digits = 7;
constexpr std::int64_t max_year = 9'999'999;
// PostgreSQL rounds to microseconds; clients that print nanoseconds are still welcome.
constexpr std::size_t max_fraction_digits = 9;
// PostgreSQL's limit on a zone displacement (MAX_TZDISP_HOUR).
constexpr std::int64_t max_zone_hour = 15;
// Enough for any interval field PostgreSQL can hold, few enough not to overflow.
constexpr std::size_t max_interval_digits = 18;

bool is_leap(std::int64_t astronomical_year) noexcept {
  return astronomical_year % 4 == 0 &&
         (astronomical_year % 100 != 0 || astronomical_year % 400 == 0);
}

std::int64_t days_in_month(std::int64_t astronomical_year, std::int64_t month) noexcept {
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap(astronomical_year)) return 29;
  return days[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year numbering),
// counted in 400-year eras that start on March 1st so the leap day ends each year.
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t year_of_era = y - era * 400;
  const std::int64_t day_of_year = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct civil_date {
  std::int64_t year = 1;  // astronomical: 0 is 1 BC
  std::int64_t month = 1;
  std::int64_t day = 1;
};

civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t day_of_era = z - era * 146097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t mp = (5 * day_of_year + 2) / 153;
  civil_date c;
  c.day = day_of_year - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = year_of_era + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

struct date_fields {
  std::int64_t year = 0;  // as written (BC years count down from 1)
  std::int64_t month = 0;
  std::int64_t day = 0;
};

std::optional<date_fields> read_date(scanner& in) noexcept {
  date_fields d;
  auto year = in.number(4, max_year_digits);
  if (!year || !in.eat('-')) return std::nullopt;
  auto month = in.number(2, 2);
  if (!month || !in.eat('-')) return std::nullopt;
  auto day = in.number(2, 2);
  if (!day) return std::nullopt;
  d.year = *year;
  d.month = *month;
  d.day = *day;
  return d;
}

// The day is checked once the era is known: 1 BC is a leap year, 1 AD is not.
bool valid_date(const date_fields& d, bool bc) noexcept {
  if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1) return false;
  return d.day <= days_in_month(bc ? 1 - d.year : d.year, d.month);
}

struct time_fields {
  std::int64_t hour = 0;
  std::int64_t minute = 0;
  std::int64_t second = 0;
  std::string_view fraction;  // the digits after the point
};

std::optional<time_fields> read_time(scanner& in) noexcept {
  time_fields t;
  auto hour = in.number(2, 2);
  if (!hour || !in.eat(':')) return std::nullopt;
  auto minute = in.number(2, 2);
  if (!minute) return std::nullopt;
  t.hour = *hour;
  t.minute = *minute;
  if (in.eat(':')) {
    auto second = in.number(2, 2);
    if (!second) return std::nullopt;
    t.second = *second;
    if (in.eat('.')) {
      const auto start = in.pos();
      if (!in.number(1, max_fraction_digits) || in.next_is_digit()) return std::nullopt;
      t.fraction = in.from(start);
    }
  }
  if (t.minute > 59 || t.second > 59) return std::nullopt;
  if (t.hour == 24) {
    if (t.minute != 0 || t.second != 0) return std::nullopt;
    for (char c : t.fraction) {
      if (c != '0') return std::nullopt;
    }
  } else if (t.hour > 24) {
    return std::nullopt;
  }
  return t;
}

// The displacement east of UTC in seconds.
std::optional<std::int64_t> read_zone(scanner& in) noexcept {
  if (in.eat('Z')) return 0;
  auto sign = in.eat_one_of("+-");
  if (!sign) return std::nullopt;
  auto hours = in.number(2, 2);
  if (!hours || *hours > max_zone_hour) return std::nullopt;
  std::int64_t minutes = 0, seconds = 0;
  const bool colon = in.eat(':');
  if (colon || in.next_is_digit()) {
    auto m = in.number(2, 2);
    if (!m || *m > 59) return std::nullopt;
    minutes = *m;
    if ((colon && in.eat(':')) || (!colon && in.next_is_digit())) {
      auto s = in.number(2, 2);
      if (!s || *s > 59) return std::nullopt;
      seconds = *s;
    }
  }
  const std::int64_t total = *hours * 3600 + minutes * 60 + seconds;
  return *sign == '-' ? -total : total;
}

bool is_infinity(std::string_view text) noexcept {
  return text == "infinity" || text == "-infinity";
}

std::string pad(std::int64_t v, int width) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::optional<std::string> iso_date(std::string_view text) {
  if (is_infinity(text)) return std::string(text);
  scanner in(text);
  auto d = read_date(in);
  if (!d) return std::nullopt;
  const bool bc = in.eat(" BC");
  if (!in.at_end() || !valid_date(*d, bc)) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> iso_time(std::string_view text, zone_rule zone) {
  scanner in(text);
  if (!read_time(in)) return std::nullopt;
  if (zone == zone_rule::required && !read_zone(in)) return std::nullopt;
  if (!in.at_end()) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> iso_timestamp(std::string_view text, zone_rule zone) {
  if (is_infinity(text)) return std::string(text);
  scanner in(text);
  auto d = read_date(in);
  if (!d || !in.eat_one_of("T ")) return std::nullopt;
  const auto time_start = in.pos();
  auto t = read_time(in);
  if (!t) return std::nullopt;
  const auto time_text = in.from(time_start);
  std::optional<std::int64_t> offset;
  if (zone == zone_rule::required) {
    offset = read_zone(in);
    if (!offset) return std::nullopt;
  }
  const bool bc = in.eat(" BC");
  if (!in.at_end() || !valid_date(*d, bc)) return std::nullopt;

  const auto date_text = text.substr(0, text.find_first_of("T "));
  if (!offset) {
    std::string out;
    out.reserve(text.size());
    out.append(date_text).append("T").append(time_text);
    if (bc) out += " BC";
    return out;
  }

  // Move to UTC with whole-day arithmetic so that month, year and era boundaries carry.
  const std::int64_t astronomical = bc ? 1 - d->year : d->year;
  const std::int64_t seconds = days_from_civil(astronomical, d->month, d->day) * 86400 +
                               t->hour * 3600 + t->minute * 60 + t->second - *offset;
  std::int64_t days = seconds / 86400;
  std::int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  const civil_date utc = civil_from_days(days);
  const bool utc_bc = utc.year <= 0;
  // Moving by the zone may carry a 7-digit year into an 8th digit: no longer the grammar.
  if ((utc_bc ? 1 - utc.year : utc.year) > max_year) return std::nullopt;
  std::string out;
  out.reserve(text.size() + 8);
  out += pad(utc_bc ? 1 - utc.year : utc.year, 4);
  out += '-';
  out += pad(utc.month, 2);
  out += '-';
  out += pad(utc.day, 2);
  out += 'T';
  out += pad(second_of_day / 3600, 2);
  out += ':';
  out += pad(second_of_day / 60 % 60, 2);
  out += ':';
  out += pad(second_of_day % 60, 2);
  if (!t->fraction.empty()) {
    out += '.';
    out.append(t->fraction);
  }
  out += 'Z';
  if (utc_bc) out += " BC";
  return out;
}

bool is_iso_interval(std::string_view text) noexcept {
  scanner in(text);
  if (!in.eat('P')) return false;
  // Each designator at most once and in order; a part ends at the 'T' or at the end.
  auto read_part = [&in](std::string_view designators, bool& any) {
    std::size_t next = 0;
    while (!in.at_end() && !in.next_is('T')) {
      in.eat_one_of("+-");
      if (!in.number(1, max_interval_digits)) return false;
      if (in.eat('.') && !in.number(1, max_interval_digits)) return false;
      auto d = in.eat_one_of(designators.substr(next));
      if (!d) return false;
      next = designators.find(*d, next) + 1;
      any = true;
    }
    return true;
  };
  bool date_any = false;
  if (!read_part("YMWD", date_any)) return false;
  if (in.eat('T')) {
    bool time_any = false;
    return read_part("HMS", time_any) && time_any && in.at_end();
  }
  return date_any && in.at_end();
}

}  // namespace fieldsync::protocol
