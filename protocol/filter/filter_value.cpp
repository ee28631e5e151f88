#include "protocol/filter/filter_value.hpp"

#include "protocol/civil_calendar.hpp"
#include "protocol/decimal.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace fieldsync::protocol {

namespace {

using vk = filter_value::kind;

constexpr std::int64_t minus_infinity = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t plus_infinity = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t usecs_per_day = 86'400'000'000;

filter_error mismatch(std::string message) {
  return filter_error{filter_errc::type_mismatch, 0, std::move(message)};
}
filter_error bad(std::string message) {
  return filter_error{filter_errc::bad_value, 0, std::move(message)};
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// ---- decimals -------------------------------------------------------------------------

// A finite decimal or a special, read without allocating from the text PostgreSQL prints
// for numeric ("-12.50", "NaN", "Infinity", "-Infinity") or a normalised decimal.
struct decimal_view {
  int rank = 1;  // 0 -Infinity, 1 finite, 2 Infinity, 3 NaN (PostgreSQL's numeric order)
  bool negative = false;
  std::string_view int_digits;   // no leading zeros
  std::string_view frac_digits;  // no trailing zeros

  bool is_zero() const noexcept { return int_digits.empty() && frac_digits.empty(); }
};

std::optional<decimal_view> read_decimal(std::string_view s) noexcept {
  decimal_view d;
  if (s == "NaN") return decimal_view{3, false, {}, {}};
  if (s == "Infinity") return decimal_view{2, false, {}, {}};
  if (s == "-Infinity") return decimal_view{0, false, {}, {}};
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) d.negative = s[i++] == '-';
  const std::size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  std::size_t int_end = i, frac_start = i, frac_end = i;
  if (i < s.size() && s[i] == '.') {
    frac_start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    frac_end = i;
  }
  if (i != s.size() || (int_end == int_start && frac_end == frac_start)) return std::nullopt;
  std::size_t a = int_start;
  while (a < int_end && s[a] == '0') ++a;
  std::size_t b = frac_end;
  while (b > frac_start && s[b - 1] == '0') --b;
  d.int_digits = s.substr(a, int_end - a);
  d.frac_digits = s.substr(frac_start, b - frac_start);
  if (d.is_zero()) d.negative = false;
  return d;
}

int sign_of(int v) noexcept {
  return (v > 0) - (v < 0);
}

int compare_decimal(const decimal_view& a, const decimal_view& b) noexcept {
  if (a.rank != b.rank) return a.rank < b.rank ? -1 : 1;
  if (a.rank != 1) return 0;
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int mag = 0;
  if (a.int_digits.size() != b.int_digits.size()) {
    mag = a.int_digits.size() < b.int_digits.size() ? -1 : 1;
  } else if (int c = a.int_digits.compare(b.int_digits); c != 0) {
    mag = sign_of(c);
  } else {
    mag = sign_of(a.frac_digits.compare(b.frac_digits));
  }
  return a.negative ? -mag : mag;
}

std::string decimal_key(const decimal_view& d) {
  if (d.rank == 0) return "-Infinity";
  if (d.rank == 2) return "Infinity";
  if (d.rank == 3) return "NaN";
  std::string out;
  if (d.negative) out.push_back('-');
  if (d.int_digits.empty()) {
    out.push_back('0');
  } else {
    out.append(d.int_digits);
  }
  if (!d.frac_digits.empty()) {
    out.push_back('.');
    out.append(d.frac_digits);
  }
  return out;
}

// Any decimal spelling PostgreSQL's numeric input takes (sign, ".5", "5.", exponent; not
// surrounding spaces) to the normalised form, or the specials to theirs.
filter_result<std::string> normalize_decimal(std::string_view s) {
  for (std::string_view nan : {"nan", "+nan", "-nan"}) {
    if (iequals(s, nan)) return std::string("NaN");
  }
  for (std::string_view inf : {"infinity", "+infinity", "inf", "+inf"}) {
    if (iequals(s, inf)) return std::string("Infinity");
  }
  for (std::string_view inf : {"-infinity", "-inf"}) {
    if (iequals(s, inf)) return std::string("-Infinity");
  }
  decimal::parse_error why{};
  const auto d = decimal::parse(s, why);
  if (!d) {
    if (why == decimal::parse_error::too_many_digits) {
      return bad("number with more than " + std::to_string(decimal::max_digits) + " digits");
    }
    return bad("\"" + std::string(s) + "\" is not a number");
  }
  return d->normalized().to_string();
}

std::string_view format_int(std::int64_t v, char* buf, std::size_t size) noexcept {
  auto [end, ec] = std::to_chars(buf, buf + size, v);
  return ec == std::errc{} ? std::string_view(buf, static_cast<std::size_t>(end - buf))
                           : std::string_view{};
}

// The shortest decimal that reads back as the double: what value_json printed the numeric
// from, when it chose a JSON number.
std::string_view format_fixed(double v, char* buf, std::size_t size) noexcept {
  auto [end, ec] = std::to_chars(buf, buf + size, v, std::chars_format::fixed);
  return ec == std::errc{} ? std::string_view(buf, static_cast<std::size_t>(end - buf))
                           : std::string_view{};
}

// A decimal for the integer domain: an integer when it is one and fits int64, else the
// normalised decimal, which compare() handles exactly against integers.
filter_value integer_or_decimal(std::string normalized) {
  filter_value v;
  if (normalized.find('.') == std::string::npos) {
    std::int64_t i = 0;
    auto [end, ec] = std::from_chars(normalized.data(), normalized.data() + normalized.size(), i);
    if (ec == std::errc{} && end == normalized.data() + normalized.size()) {
      v.k = vk::integer;
      v.integer = i;
      return v;
    }
  }
  v.k = vk::decimal;
  v.text = std::move(normalized);
  return v;
}

// ---- floats -----------------------------------------------------------------------------

std::optional<double> float_special(std::string_view s) noexcept {
  for (std::string_view nan : {"nan", "+nan", "-nan"}) {
    if (iequals(s, nan)) return std::numeric_limits<double>::quiet_NaN();
  }
  for (std::string_view inf : {"infinity", "+infinity", "inf", "+inf"}) {
    if (iequals(s, inf)) return std::numeric_limits<double>::infinity();
  }
  for (std::string_view inf : {"-infinity", "-inf"}) {
    if (iequals(s, inf)) return -std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

filter_result<filter_value> float_value(filter_domain d, std::string_view s) {
  filter_value v;
  v.k = vk::floating;
  if (auto special = float_special(s)) {
    v.floating = *special;
    return v;
  }
  const char* first = s.data();
  if (!s.empty() && s[0] == '+') ++first;
  if (d == filter_domain::float4) {
    float f = 0;
    auto [end, ec] = std::from_chars(first, s.data() + s.size(), f);
    if (ec == std::errc::result_out_of_range)
      return bad(std::string(s) + " is out of range for real");
    if (ec != std::errc{} || end != s.data() + s.size() || first == end) {
      return bad("\"" + std::string(s) + "\" is not a number");
    }
    v.floating = f;
  } else {
    double f = 0;
    auto [end, ec] = std::from_chars(first, s.data() + s.size(), f);
    if (ec == std::errc::result_out_of_range) {
      return bad(std::string(s) + " is out of range for double precision");
    }
    if (ec != std::errc{} || end != s.data() + s.size() || first == end) {
      return bad("\"" + std::string(s) + "\" is not a number");
    }
    v.floating = f;
  }
  return v;
}

int compare_float(double a, double b) noexcept {
  // PostgreSQL: NaN equals NaN and sorts above every other value.
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return an == bn ? 0 : (an ? 1 : -1);
  return a < b ? -1 : (a > b ? 1 : 0);
}

// ---- uuid -------------------------------------------------------------------------------

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PostgreSQL's uuid input: 32 hex digits in either case, optionally inside braces, with a
// hyphen allowed after any group of four digits.
std::optional<std::array<std::uint8_t, 16>> parse_uuid(std::string_view s) noexcept {
  if (!s.empty() && s.front() == '{') {
    if (s.back() != '}' || s.size() < 2) return std::nullopt;
    s = s.substr(1, s.size() - 2);
  }
  std::array<std::uint8_t, 16> out{};
  std::size_t digits = 0;
  bool last_hyphen = false;
  for (char c : s) {
    if (c == '-') {
      if (digits == 0 || digits % 4 != 0 || digits >= 32 || last_hyphen) return std::nullopt;
      last_hyphen = true;
      continue;
    }
    const int h = hex_value(c);
    if (h < 0 || digits >= 32) return std::nullopt;
    out[digits / 2] = static_cast<std::uint8_t>(out[digits / 2] | (digits % 2 ? h : h << 4));
    ++digits;
    last_hyphen = false;
  }
  if (digits != 32 || last_hyphen) return std::nullopt;
  return out;
}

std::string format_uuid(const std::array<std::uint8_t, 16>& u) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[u[i] >> 4]);
    out.push_back(hex[u[i] & 0xf]);
  }
  return out;
}

// ---- dates and times ----------------------------------------------------------------------

// The filter's dates count days from 2000-01-01, PostgreSQL's epoch; `year` is astronomical
// (1 BC is 0).
constexpr std::int64_t pg_epoch_day = days_from_civil({2000, 1, 1});

constexpr std::int64_t pg_days_from_civil(std::int64_t year, unsigned month,
                                          unsigned day) noexcept {
  return days_from_civil({year, month, day}) - pg_epoch_day;
}

// PostgreSQL's ranges: dates from 4714-11-24 BC to 5874897-12-31, timestamps from
// 4714-11-24 BC to 294276-12-31 23:59:59.999999 (UTC for timestamptz).
constexpr std::int64_t min_day = pg_days_from_civil(-4713, 11, 24);
constexpr std::int64_t max_day = pg_days_from_civil(5874897, 12, 31);
constexpr std::int64_t end_timestamp_day = pg_days_from_civil(294277, 1, 1);

// A tiny cursor over the text; every reader returns false on a mismatch.
struct reader {
  std::string_view s;
  std::size_t i = 0;

  bool done() const noexcept { return i == s.size(); }
  char peek() const noexcept { return i < s.size() ? s[i] : '\0'; }
  bool eat(char c) noexcept {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  // min..max digits as a number
  bool digits(std::size_t min, std::size_t max, std::int64_t& out) noexcept {
    const std::size_t start = i;
    out = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < max) out = out * 10 + (s[i++] - '0');
    return i - start >= min && !(i < s.size() && is_digit(s[i]));
  }
  // exactly n digits, whatever follows (the parts of "+0530")
  bool fixed_digits(std::size_t n, std::int64_t& out) noexcept {
    out = 0;
    for (std::size_t k = 0; k < n; ++k, ++i) {
      if (i >= s.size() || !is_digit(s[i])) return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  }
  bool keyword(std::string_view word) noexcept {
    if (s.size() - i < word.size() || !iequals(s.substr(i, word.size()), word)) return false;
    i += word.size();
    return true;
  }
};

// YYYY-MM-DD with 4 to 7 year digits, or ISO 8601's expanded +-YYYYYY-MM-DD with an
// astronomical year (`expanded`: no " BC" may follow), as fieldsync hands dates out.
bool read_date(reader& r, std::int64_t& year, unsigned& month, unsigned& day,
               bool& expanded) noexcept {
  std::int64_t y = 0, m = 0, d = 0;
  const char sign = r.peek();
  expanded = sign == '+' || sign == '-';
  if (expanded) ++r.i;
  if (!r.digits(4, 7, y) || !r.eat('-') || !r.digits(2, 2, m) || !r.eat('-') ||
      !r.digits(2, 2, d)) {
    return false;
  }
  if (sign == '-') y = -y;
  if ((!expanded && y < 1) || m < 1 || m > 12 || d < 1) return false;
  year = y;
  month = static_cast<unsigned>(m);
  day = static_cast<unsigned>(d);
  return true;
}

// HH:MM[:SS[.f{1,6}]]; 24:00:00 only where allow_24.
bool read_time(reader& r, bool allow_24, std::int64_t& usecs) noexcept {
  std::int64_t h = 0, m = 0, sec = 0, frac = 0;
  if (!r.digits(1, 2, h) || !r.eat(':') || !r.digits(2, 2, m)) return false;
  if (r.eat(':')) {
    if (!r.digits(2, 2, sec)) return false;
    if (r.eat('.')) {
      const std::size_t start = r.i;
      if (!r.digits(1, 6, frac)) return false;
      for (std::size_t n = r.i - start; n < 6; ++n) frac *= 10;
    }
  }
  if (m > 59 || sec > 59) return false;
  if (h > 24 || (h == 24 && (m != 0 || sec != 0 || frac != 0 || !allow_24))) return false;
  usecs = ((h * 60 + m) * 60 + sec) * 1'000'000 + frac;
  return true;
}

// Z, or +-HH[[:]MM[[:]SS]] up to 15:59:59 as PostgreSQL takes; seconds east of UTC.
bool read_offset(reader& r, std::int64_t& seconds) noexcept {
  if (r.eat('Z') || r.eat('z')) {
    seconds = 0;
    return true;
  }
  const char sign = r.peek();
  if (sign != '+' && sign != '-') return false;
  ++r.i;
  std::int64_t h = 0, m = 0, sec = 0;
  if (!r.fixed_digits(2, h)) return false;
  const bool colon = r.eat(':');
  if (colon || is_digit(r.peek())) {
    if (!r.fixed_digits(2, m)) return false;
    if ((colon && r.eat(':')) || (!colon && is_digit(r.peek()))) {
      if (!r.fixed_digits(2, sec)) return false;
    }
  }
  if (is_digit(r.peek())) return false;
  if (h > 15 || m > 59 || sec > 59) return false;
  seconds = (h * 3600 + m * 60 + sec) * (sign == '-' ? -1 : 1);
  return true;
}

bool read_bc(reader& r) noexcept {
  const std::size_t save = r.i;
  if (r.eat(' ') && r.keyword("BC")) return true;
  r.i = save;
  return false;
}

std::optional<std::int64_t> read_infinity(std::string_view s) noexcept {
  if (iequals(s, "infinity") || iequals(s, "+infinity")) return plus_infinity;
  if (iequals(s, "-infinity")) return minus_infinity;
  return std::nullopt;
}

std::optional<std::int64_t> parse_date(std::string_view s) noexcept {
  if (auto inf = read_infinity(s)) return inf;
  reader r{s};
  std::int64_t year = 0;
  unsigned month = 0, day = 0;
  bool expanded = false;
  if (!read_date(r, year, month, day, expanded)) return std::nullopt;
  if (read_bc(r)) {
    if (expanded) return std::nullopt;
    year = 1 - year;
  }
  if (!r.done() || day > days_in_month(year, month)) return std::nullopt;
  const std::int64_t days = pg_days_from_civil(year, month, day);
  if (days < min_day || days > max_day) return std::nullopt;
  return days;
}

std::optional<std::int64_t> parse_time(std::string_view s) noexcept {
  reader r{s};
  std::int64_t usecs = 0;
  if (!read_time(r, true, usecs) || !r.done()) return std::nullopt;
  return usecs;
}

// timestamp and timestamptz: a date, optionally ' ' or 'T' and a time; for timestamptz an
// optional offset (none means UTC); an optional " BC" last.
std::optional<std::int64_t> parse_timestamp(std::string_view s, bool with_zone) noexcept {
  if (auto inf = read_infinity(s)) return inf;
  reader r{s};
  std::int64_t year = 0, usecs = 0, offset = 0;
  unsigned month = 0, day = 0;
  bool expanded = false;
  if (!read_date(r, year, month, day, expanded)) return std::nullopt;
  const char sep = r.peek();
  if ((sep == ' ' || sep == 'T' || sep == 't') && r.i + 1 < s.size() && is_digit(s[r.i + 1])) {
    ++r.i;
    if (!read_time(r, false, usecs)) return std::nullopt;
    if (with_zone && (r.peek() == 'Z' || r.peek() == 'z' || r.peek() == '+' || r.peek() == '-')) {
      if (!read_offset(r, offset)) return std::nullopt;
    }
  }
  if (read_bc(r)) {
    if (expanded) return std::nullopt;
    year = 1 - year;
  }
  if (!r.done() || day > days_in_month(year, month)) return std::nullopt;
  const std::int64_t days = pg_days_from_civil(year, month, day);
  if (days < min_day - 1 || days > end_timestamp_day) return std::nullopt;
  const std::int64_t result = days * usecs_per_day + usecs - offset * 1'000'000;
  if (result < min_day * usecs_per_day || result >= end_timestamp_day * usecs_per_day) {
    return std::nullopt;
  }
  return result;
}

std::optional<std::int64_t> parse_instant(filter_domain d, std::string_view s) noexcept {
  switch (d) {
    case filter_domain::date:
      return parse_date(s);
    case filter_domain::time:
      return parse_time(s);
    case filter_domain::timestamp:
      return parse_timestamp(s, false);
    case filter_domain::timestamptz:
      return parse_timestamp(s, true);
    default:
      return std::nullopt;
  }
}

void append_padded(std::string& out, std::int64_t v, int width) {
  std::string digits = std::to_string(v);
  if (static_cast<int>(digits.size()) < width) {
    out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  }
  out += digits;
}

std::string format_date_part(std::int64_t days, bool& bc) {
  const civil_date c = civil_from_days(days + pg_epoch_day);
  bc = c.year <= 0;
  std::string out;
  append_padded(out, bc ? 1 - c.year : c.year, 4);
  out.push_back('-');
  append_padded(out, c.month, 2);
  out.push_back('-');
  append_padded(out, c.day, 2);
  return out;
}

std::string format_time_part(std::int64_t usecs) {
  std::string out;
  append_padded(out, usecs / 3'600'000'000, 2);
  out.push_back(':');
  append_padded(out, usecs / 60'000'000 % 60, 2);
  out.push_back(':');
  append_padded(out, usecs / 1'000'000 % 60, 2);
  out.push_back('.');
  append_padded(out, usecs % 1'000'000, 6);
  return out;
}

std::string format_instant(filter_domain d, std::int64_t v) {
  if (v == plus_infinity) return "infinity";
  if (v == minus_infinity) return "-infinity";
  bool bc = false;
  std::string out;
  if (d == filter_domain::date) {
    out = format_date_part(v, bc);
  } else if (d == filter_domain::time) {
    return format_time_part(v);
  } else {
    const std::int64_t days = floor_div(v, usecs_per_day);
    out = format_date_part(days, bc) + " " + format_time_part(v - days * usecs_per_day);
    if (d == filter_domain::timestamptz) out += "+00";
  }
  if (bc) out += " BC";
  return out;
}

std::string_view trim_trailing_spaces(std::string_view s) noexcept {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Strings in each domain: literals, and JSON strings from $n and $claims.
filter_result<filter_value> value_from_string(filter_domain d, std::string_view s) {
  filter_value v;
  switch (d) {
    case filter_domain::text:
      v.k = vk::text;
      v.text = s;
      return v;
    case filter_domain::bpchar:
      v.k = vk::text;
      v.text = trim_trailing_spaces(s);
      return v;
    case filter_domain::uuid: {
      auto u = parse_uuid(s);
      if (!u) return bad("\"" + std::string(s) + "\" is not a uuid");
      v.k = vk::uuid;
      v.uuid = *u;
      return v;
    }
    case filter_domain::numeric: {
      auto n = normalize_decimal(s);
      if (!n) return n.error();
      v.k = vk::decimal;
      v.text = std::move(*n);
      return v;
    }
    case filter_domain::float4:
    case filter_domain::float8: {
      auto special = float_special(s);
      if (!special) {
        return mismatch("a " + std::string(domain_name(d)) +
                        " column compares with numbers (or 'NaN', 'Infinity', '-Infinity'), not "
                        "strings");
      }
      v.k = vk::floating;
      v.floating = *special;
      return v;
    }
    case filter_domain::date:
    case filter_domain::time:
    case filter_domain::timestamp:
    case filter_domain::timestamptz: {
      auto t = parse_instant(d, s);
      if (!t) {
        const char* form = d == filter_domain::date   ? "YYYY-MM-DD"
                           : d == filter_domain::time ? "HH:MM[:SS[.ffffff]]"
                           : d == filter_domain::timestamp
                               ? "YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]"
                               : "YYYY-MM-DD[THH:MM[:SS[.ffffff]][Z|+HH:MM]]";
        return bad("\"" + std::string(s) + "\" is not a valid " + domain_name(d) + " (" + form +
                   ", or 'infinity')");
      }
      v.k = vk::integer;
      v.integer = *t;
      return v;
    }
    default:
      return mismatch(std::string("a ") + domain_name(d) + " column does not compare with strings");
  }
}

filter_result<filter_value> value_from_number_text(filter_domain d, std::string_view s) {
  switch (d) {
    case filter_domain::integer: {
      auto n = normalize_decimal(s);
      if (!n) return n.error();
      return integer_or_decimal(std::move(*n));
    }
    case filter_domain::numeric: {
      auto n = normalize_decimal(s);
      if (!n) return n.error();
      filter_value v;
      v.k = vk::decimal;
      v.text = std::move(*n);
      return v;
    }
    case filter_domain::float4:
    case filter_domain::float8:
      return float_value(d, s);
    default:
      return mismatch(std::string("a ") + domain_name(d) + " column does not compare with numbers");
  }
}

}  // namespace

filter_domain domain_of(const column_type& type) noexcept {
  switch (type.cls) {
    case type_class::boolean:
      return filter_domain::boolean;
    case type_class::integer:
      return filter_domain::integer;
    case type_class::numeric:
      return filter_domain::numeric;
    case type_class::floating:
      return type.oid == oids::float4 ? filter_domain::float4 : filter_domain::float8;
    case type_class::text:
      return type.oid == oids::bpchar ? filter_domain::bpchar : filter_domain::text;
    case type_class::uuid:
      return filter_domain::uuid;
    case type_class::date:
      return filter_domain::date;
    case type_class::time:
      return type.oid == oids::time ? filter_domain::time : filter_domain::none;
    case type_class::timestamp:
      return filter_domain::timestamp;
    case type_class::timestamptz:
      return filter_domain::timestamptz;
    default:
      return filter_domain::none;
  }
}

const char* domain_name(filter_domain d) noexcept {
  switch (d) {
    case filter_domain::none:
      return "non-comparable";
    case filter_domain::boolean:
      return "boolean";
    case filter_domain::integer:
      return "integer";
    case filter_domain::numeric:
      return "numeric";
    case filter_domain::float4:
      return "real";
    case filter_domain::float8:
      return "double precision";
    case filter_domain::text:
      return "text";
    case filter_domain::bpchar:
      return "character";
    case filter_domain::uuid:
      return "uuid";
    case filter_domain::date:
      return "date";
    case filter_domain::time:
      return "time";
    case filter_domain::timestamp:
      return "timestamp";
    case filter_domain::timestamptz:
      return "timestamptz";
  }
  return "unknown";
}

filter_result<filter_value> value_from_literal(filter_domain d, const filter_operand& literal) {
  using ok = filter_operand::kind;
  switch (literal.k) {
    case ok::null_:
      return filter_value{};
    case ok::boolean: {
      if (d != filter_domain::boolean) {
        return mismatch(std::string("a ") + domain_name(d) + " column does not compare with " +
                        (literal.boolean ? "TRUE" : "FALSE"));
      }
      filter_value v;
      v.k = vk::boolean;
      v.boolean = literal.boolean;
      return v;
    }
    case ok::number:
      return value_from_number_text(d, literal.text);
    case ok::string:
      return value_from_string(d, literal.text);
    default:
      return mismatch("not a literal");
  }
}

filter_result<filter_value> value_from_json(filter_domain d, const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null:
      return filter_value{};
    case boost::json::kind::bool_: {
      if (d != filter_domain::boolean) {
        return mismatch(std::string("a ") + domain_name(d) + " column does not compare with " +
                        (j.get_bool() ? "true" : "false"));
      }
      filter_value v;
      v.k = vk::boolean;
      v.boolean = j.get_bool();
      return v;
    }
    case boost::json::kind::int64:
    case boost::json::kind::uint64: {
      char buf[32];
      auto r = j.is_int64() ? std::to_chars(buf, buf + sizeof buf, j.get_int64())
                            : std::to_chars(buf, buf + sizeof buf, j.get_uint64());
      return value_from_number_text(d,
                                    std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    }
    case boost::json::kind::double_: {
      const double x = j.get_double();
      if (d == filter_domain::float8 || d == filter_domain::float4) {
        filter_value v;
        v.k = vk::floating;
        if (d == filter_domain::float4) {
          const auto f = static_cast<float>(x);
          if (std::isinf(f) && !std::isinf(x)) return bad("number out of range for real");
          v.floating = f;
        } else {
          v.floating = x;
        }
        return v;
      }
      char buf[400];
      const auto text = format_fixed(x, buf, sizeof buf);
      if (text.empty()) return bad("number cannot be represented");
      return value_from_number_text(d, text);
    }
    case boost::json::kind::string: {
      const auto& s = j.get_string();
      if (s.find('\0') != boost::json::string::npos) return bad("string contains a NUL character");
      return value_from_string(d, std::string_view(s.data(), s.size()));
    }
    default:
      return mismatch("expected a single value, not a JSON array or object");
  }
}

filter_domain domain_of_literal(const filter_operand& literal) noexcept {
  switch (literal.k) {
    case filter_operand::kind::boolean:
      return filter_domain::boolean;
    case filter_operand::kind::number:
      return filter_domain::numeric;
    case filter_operand::kind::string:
      return filter_domain::text;
    default:
      return filter_domain::none;
  }
}

filter_domain domain_of_json(const boost::json::value& v) noexcept {
  switch (v.kind()) {
    case boost::json::kind::bool_:
      return filter_domain::boolean;
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return filter_domain::numeric;
    case boost::json::kind::string:
      return filter_domain::text;
    default:
      return filter_domain::none;
  }
}

filter_value_view read_row_value(filter_domain d, const boost::json::value& j,
                                 filter_scratch& scratch) noexcept {
  filter_value_view v;
  auto str = [&]() -> std::optional<std::string_view> {
    if (!j.is_string()) return std::nullopt;
    return std::string_view(j.get_string().data(), j.get_string().size());
  };
  switch (d) {
    case filter_domain::none:
      return v;
    case filter_domain::boolean:
      if (j.is_bool()) {
        v.k = vk::boolean;
        v.boolean = j.get_bool();
      }
      return v;
    case filter_domain::integer:
    case filter_domain::numeric: {
      if (j.is_int64() && d == filter_domain::integer) {
        v.k = vk::integer;
        v.integer = j.get_int64();
        return v;
      }
      std::string_view text;
      auto* buf = scratch.buffer.data();
      const auto size = scratch.buffer.size();
      if (j.is_int64()) {
        text = format_int(j.get_int64(), buf, size);
      } else if (j.is_uint64()) {
        auto r = std::to_chars(buf, buf + size, j.get_uint64());
        text = std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
      } else if (j.is_double()) {
        text = format_fixed(j.get_double(), buf, size);
      } else if (auto s = str()) {
        text = *s;
      }
      if (text.empty() || !read_decimal(text)) return v;
      if (d == filter_domain::integer && read_decimal(text)->rank != 1) return v;
      v.k = vk::decimal;
      v.text = text;
      return v;
    }
    case filter_domain::float4:
    case filter_domain::float8: {
      double x = 0;
      if (j.is_double()) {
        x = j.get_double();
      } else if (j.is_int64()) {
        x = static_cast<double>(j.get_int64());
      } else if (j.is_uint64()) {
        x = static_cast<double>(j.get_uint64());
      } else if (auto s = str(); s && (*s == "NaN" || *s == "Infinity" || *s == "-Infinity")) {
        x = *float_special(*s);
      } else {
        return v;
      }
      v.k = vk::floating;
      v.floating = d == filter_domain::float4 ? static_cast<double>(static_cast<float>(x)) : x;
      return v;
    }
    case filter_domain::text:
    case filter_domain::bpchar:
      if (auto s = str()) {
        v.k = vk::text;
        v.text = d == filter_domain::bpchar ? trim_trailing_spaces(*s) : *s;
      }
      return v;
    case filter_domain::uuid:
      if (auto s = str()) {
        if (auto u = parse_uuid(*s)) {
          v.k = vk::uuid;
          v.uuid = *u;
        }
      }
      return v;
    case filter_domain::date:
    case filter_domain::time:
    case filter_domain::timestamp:
    case filter_domain::timestamptz:
      if (auto s = str()) {
        if (auto t = parse_instant(d, *s)) {
          v.k = vk::integer;
          v.integer = *t;
        }
      }
      return v;
  }
  return v;
}

int compare(filter_domain d, const filter_value_view& a, const filter_value_view& b) noexcept {
  switch (d) {
    case filter_domain::boolean:
      return static_cast<int>(a.boolean) - static_cast<int>(b.boolean);
    case filter_domain::integer:
    case filter_domain::numeric: {
      if (a.k == vk::integer && b.k == vk::integer) {
        return a.integer < b.integer ? -1 : (a.integer > b.integer ? 1 : 0);
      }
      char abuf[32], bbuf[32];
      const auto at = a.k == vk::integer ? format_int(a.integer, abuf, sizeof abuf) : a.text;
      const auto bt = b.k == vk::integer ? format_int(b.integer, bbuf, sizeof bbuf) : b.text;
      const auto ad = read_decimal(at), bd = read_decimal(bt);
      if (!ad || !bd) return 0;  // both come from read_row_value or normalisation
      return compare_decimal(*ad, *bd);
    }
    case filter_domain::float4:
    case filter_domain::float8:
      return compare_float(a.floating, b.floating);
    case filter_domain::text:
    case filter_domain::bpchar:
      return sign_of(a.text.compare(b.text));
    case filter_domain::uuid:
      return sign_of(std::memcmp(a.uuid.data(), b.uuid.data(), 16));
    case filter_domain::date:
    case filter_domain::time:
    case filter_domain::timestamp:
    case filter_domain::timestamptz:
      return a.integer < b.integer ? -1 : (a.integer > b.integer ? 1 : 0);
    case filter_domain::none:
      return 0;
  }
  return 0;
}

std::string equality_key(filter_domain d, const filter_value_view& v) {
  switch (d) {
    case filter_domain::boolean:
      return v.boolean ? "true" : "false";
    case filter_domain::integer:
    case filter_domain::numeric: {
      if (v.k == vk::integer) return std::to_string(v.integer);
      auto dec = read_decimal(v.text);
      return dec ? decimal_key(*dec) : std::string(v.text);
    }
    case filter_domain::float4:
    case filter_domain::float8: {
      if (std::isnan(v.floating)) return "NaN";
      if (std::isinf(v.floating)) return v.floating > 0 ? "Infinity" : "-Infinity";
      if (v.floating == 0) return "0";
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v.floating);
      return std::string(buf, static_cast<std::size_t>(r.ptr - buf));
    }
    case filter_domain::text:
    case filter_domain::bpchar:
      return std::string(v.text);
    case filter_domain::uuid:
      return format_uuid(v.uuid);
    case filter_domain::date:
    case filter_domain::time:
    case filter_domain::timestamp:
    case filter_domain::timestamptz:
      return std::to_string(v.integer);
    case filter_domain::none:
      return {};
  }
  return {};
}

std::string to_pg_text(filter_domain d, const filter_value& v) {
  switch (d) {
    case filter_domain::boolean:
      return v.boolean ? "true" : "false";
    case filter_domain::integer:
    case filter_domain::numeric:
      return v.k == vk::integer ? std::to_string(v.integer) : v.text;
    case filter_domain::float4:
    case filter_domain::float8: {
      if (std::isnan(v.floating)) return "NaN";
      if (std::isinf(v.floating)) return v.floating > 0 ? "Infinity" : "-Infinity";
      char buf[64];
      auto r = d == filter_domain::float4
                   ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v.floating))
                   : std::to_chars(buf, buf + sizeof buf, v.floating);
      return std::string(buf, static_cast<std::size_t>(r.ptr - buf));
    }
    case filter_domain::text:
    case filter_domain::bpchar:
      return v.text;
    case filter_domain::uuid:
      return format_uuid(v.uuid);
    case filter_domain::date:
    case filter_domain::time:
    case filter_domain::timestamp:
    case filter_domain::timestamptz:
      return format_instant(d, v.integer);
    case filter_domain::none:
      return {};
  }
  return {};
}

}  // namespace fieldsync::protocol
