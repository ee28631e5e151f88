#include "protocol/pg_datetime_text.hpp"

#include "protocol/civil_calendar.hpp"

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

struct date_fields {
  std::int64_t year = 0;  // astronomical: 0 is 1 BC, -1 is 2 BC
  std::int64_t month = 0;
  std::int64_t day = 0;
};

// PostgreSQL's "YYYY-MM-DD" (4 to 7 year digits, " BC" read later by the caller) or ISO
// 8601's expanded form "+YYYYYY-MM-DD" / "-YYYYYY-MM-DD" (a sign and 4 to 7 digits,
// astronomical years). `expanded` tells the caller that no " BC" may follow.
std::optional<date_fields> read_date(scanner& in, bool& expanded) noexcept {
  date_fields d;
  const auto sign = in.eat_one_of("+-");
  expanded = sign.has_value();
  auto year = in.number(4, max_year_digits);
  if (!year || !in.eat('-')) return std::nullopt;
  auto month = in.number(2, 2);
  if (!month || !in.eat('-')) return std::nullopt;
  auto day = in.number(2, 2);
  if (!day) return std::nullopt;
  d.year = sign == '-' ? -*year : *year;
  d.month = *month;
  d.day = *day;
  return d;
}

// A written year (BC years count down from 1) made astronomical, with the range checks.
bool finish_date(date_fields& d, bool expanded, bool bc) noexcept {
  if (bc) {
    if (expanded || d.year < 1) return false;
    d.year = 1 - d.year;
  } else if (!expanded && d.year < 1) {
    return false;
  }
  if (d.year > max_year || d.year < 1 - max_year) return false;
  if (d.month < 1 || d.month > 12 || d.day < 1) return false;
  return d.day <= days_in_month(d.year, static_cast<unsigned>(d.month));
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

// A date or timestamp read from either spelling, timestamptz moved to UTC.
struct datetime {
  std::string_view infinity;  // "infinity" or "-infinity"; then nothing else is set
  date_fields date;
  bool has_time = false;
  time_fields time;
};

std::optional<datetime> read_datetime(std::string_view text, bool with_time, zone_rule zone) {
  datetime out;
  if (is_infinity(text)) {
    out.infinity = text;
    return out;
  }
  scanner in(text);
  bool expanded = false;
  auto d = read_date(in, expanded);
  if (!d) return std::nullopt;
  std::optional<std::int64_t> offset;
  if (with_time) {
    if (!in.eat_one_of("T ")) return std::nullopt;
    auto t = read_time(in);
    if (!t) return std::nullopt;
    out.time = *t;
    out.has_time = true;
    if (zone == zone_rule::required) {
      offset = read_zone(in);
      if (!offset) return std::nullopt;
    }
  }
  const bool bc = in.eat(" BC");
  if (!in.at_end() || !finish_date(*d, expanded, bc)) return std::nullopt;
  out.date = *d;
  if (!offset || *offset == 0) return out;

  // Move to UTC with whole-day arithmetic so that month, year and era boundaries carry.
  const std::int64_t seconds =
      days_from_civil({d->year, static_cast<unsigned>(d->month), static_cast<unsigned>(d->day)}) *
          86400 +
      out.time.hour * 3600 + out.time.minute * 60 + out.time.second - *offset;
  const std::int64_t days = floor_div(seconds, 86400);
  const std::int64_t second_of_day = seconds - days * 86400;
  const civil_date utc = civil_from_days(days);
  // Moving by the zone may carry a year out of the grammar's range.
  if (utc.year > max_year || utc.year < 1 - max_year) return std::nullopt;
  out.date = {utc.year, utc.month, utc.day};
  out.time.hour = second_of_day / 3600;
  out.time.minute = second_of_day / 60 % 60;
  out.time.second = second_of_day % 60;
  return out;
}

void append_time(std::string& out, const time_fields& t) {
  out += pad(t.hour, 2);
  out += ':';
  out += pad(t.minute, 2);
  out += ':';
  out += pad(t.second, 2);
  if (!t.fraction.empty()) {
    out += '.';
    out.append(t.fraction);
  }
}

// ISO 8601: four digits for 1 to 9999 AD, otherwise the expanded form: a sign and at
// least six digits of the astronomical year (1 BC is +000000, 44 BC is -000043), which
// JavaScript's Date reads.
std::string iso_text(const datetime& v, zone_rule zone) {
  if (!v.infinity.empty()) return std::string(v.infinity);
  std::string out;
  const std::int64_t y = v.date.year;
  if (y >= 1 && y <= 9999) {
    out += pad(y, 4);
  } else {
    out += y < 0 ? '-' : '+';
    out += pad(y < 0 ? -y : y, 6);
  }
  out += '-';
  out += pad(v.date.month, 2);
  out += '-';
  out += pad(v.date.day, 2);
  if (v.has_time) {
    out += 'T';
    append_time(out, v.time);
    if (zone == zone_rule::required) out += 'Z';
  }
  return out;
}

// What PostgreSQL prints with DateStyle=ISO and TimeZone=UTC (and reads back).
std::string pg_text(const datetime& v, zone_rule zone) {
  if (!v.infinity.empty()) return std::string(v.infinity);
  const bool bc = v.date.year < 1;
  std::string out = pad(bc ? 1 - v.date.year : v.date.year, 4);
  out += '-';
  out += pad(v.date.month, 2);
  out += '-';
  out += pad(v.date.day, 2);
  if (v.has_time) {
    out += ' ';
    append_time(out, v.time);
    if (zone == zone_rule::required) out += "+00";
  }
  if (bc) out += " BC";
  return out;
}

}  // namespace

std::optional<std::string> iso_date(std::string_view text) {
  auto v = read_datetime(text, false, zone_rule::forbidden);
  if (!v) return std::nullopt;
  return iso_text(*v, zone_rule::forbidden);
}

std::optional<std::string> pg_date(std::string_view text) {
  auto v = read_datetime(text, false, zone_rule::forbidden);
  if (!v) return std::nullopt;
  return pg_text(*v, zone_rule::forbidden);
}

std::optional<std::string> iso_time(std::string_view text, zone_rule zone) {
  scanner in(text);
  if (!read_time(in)) return std::nullopt;
  if (zone == zone_rule::required && !read_zone(in)) return std::nullopt;
  if (!in.at_end()) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> iso_timestamp(std::string_view text, zone_rule zone) {
  auto v = read_datetime(text, true, zone);
  if (!v) return std::nullopt;
  return iso_text(*v, zone);
}

std::optional<std::string> pg_timestamp(std::string_view text, zone_rule zone) {
  auto v = read_datetime(text, true, zone);
  if (!v) return std::nullopt;
  return pg_text(*v, zone);
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
