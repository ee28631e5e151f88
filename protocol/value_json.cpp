#include "protocol/value_json.hpp"

#include "protocol/json_parse.hpp"
#include "protocol/pg_array_text.hpp"
#include "protocol/pg_datetime_text.hpp"

#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace fieldsync::protocol {

namespace json = boost::json;

namespace {

class value_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.value"; }
  std::string message(int ev) const override {
    switch (static_cast<value_errc>(ev)) {
      case value_errc::bad_text: return "PostgreSQL value text does not parse as its type";
      case value_errc::wrong_type: return "JSON value of the wrong kind for the column";
      case value_errc::out_of_range: return "value out of range for the column type";
      case value_errc::bad_format: return "string is not a valid value of the column type";
      case value_errc::too_deep: return "value nested too deeply";
    }
    return "unknown value error";
  }
};

// 2^53 - 1: integers up to here (and no further: 2^53 + 1 reads as 2^53) are exact in
// every JSON reader's double.
constexpr std::int64_t max_exact_double_integer = (std::int64_t{1} << 53) - 1;
// How deep a json/jsonb document's text may nest, both ways (PostgreSQL's own bound is its
// stack depth, a few thousand levels by default; the check builds nothing).
constexpr std::size_t max_json_text_depth = 10'000;
// PostgreSQL's NUMERIC_MAX_PRECISION, also its limit on a numeric input's exponent.
constexpr long numeric_max_exponent = 1000;
// Digits enough for the exact decimal expansion of any double: every double is an integer
// multiple of 2^-1074, so 1074 fraction digits and 309 integer digits, plus sign and point.
constexpr std::size_t exact_double_chars = 1 + 309 + 1 + 1074;

using json_result = boost::system::result<json::value>;
using text_result = boost::system::result<std::string>;

struct integer_range {
  std::int64_t min;
  std::int64_t max;
};

integer_range range_of(type_oid oid) noexcept {
  switch (oid) {
    case oids::int2: return {std::numeric_limits<std::int16_t>::min(),
                             std::numeric_limits<std::int16_t>::max()};
    case oids::int4: return {std::numeric_limits<std::int32_t>::min(),
                             std::numeric_limits<std::int32_t>::max()};
    case oids::oid: return {0, std::numeric_limits<std::uint32_t>::max()};
    default: return {std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max()};
  }
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char to_lower_hex(char c) noexcept {
  return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
}

// libpq passes parameters as C strings: a NUL would cut the value short.
bool has_nul(std::string_view s) noexcept { return s.find('\0') != std::string_view::npos; }

template <typename Number>
bool parse_whole(std::string_view s, Number& out) noexcept {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

std::string format_double(double d, std::chars_format fmt) {
  std::array<char, 32> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d, fmt);
  return std::string(buf.data(), r.ptr);
}

std::string format_double(double d, std::chars_format fmt, int precision) {
  std::array<char, exact_double_chars + 8> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d, fmt, precision);
  return std::string(buf.data(), r.ptr);
}

// What float8out and float4out print (extra_float_digits > 0): the shortest digits that
// read back as the value, fixed-point when the decimal exponent is in [-4, 15) for float8
// and [-4, 6) for float4 (printf's defaults), otherwise d.ddde+XX with at least two
// exponent digits. float4 values are the float nearest to d.
std::string pg_float_text(double d, bool float4) {
  std::array<char, 64> buf{};
  const auto r = float4 ? std::to_chars(buf.data(), buf.data() + buf.size(),
                                        static_cast<float>(d), std::chars_format::scientific)
                        : std::to_chars(buf.data(), buf.data() + buf.size(), d,
                                        std::chars_format::scientific);
  const std::string_view sci(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  const auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (is_digit(c)) digits += c;
  }
  int exponent = 0;
  const auto exp_text = sci.substr(e + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0),
                  exp_text.data() + exp_text.size(), exponent);
  std::string out = sci.front() == '-' ? "-" : "";
  if (digits == "0") return out + "0";
  const int n = static_cast<int>(digits.size());
  if (exponent >= -4 && exponent < (float4 ? 6 : 15)) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out += digits;
    } else if (exponent + 1 >= n) {
      out += digits;
      out.append(static_cast<std::size_t>(exponent + 1 - n), '0');
    } else {
      out.append(digits, 0, static_cast<std::size_t>(exponent) + 1);
      out += '.';
      out.append(digits, static_cast<std::size_t>(exponent) + 1);
    }
    return out;
  }
  out += digits.front();
  if (n > 1) {
    out += '.';
    out.append(digits, 1);
  }
  out += exponent < 0 ? "e-" : "e+";
  const int magnitude = exponent < 0 ? -exponent : exponent;
  if (magnitude < 10) out += '0';
  out += std::to_string(magnitude);
  return out;
}

// ---- PostgreSQL text -> JSON ----------------------------------------------------------

// boolout prints t and f; a cast to text (and so some callers' SQL) gives true and false.
json_result boolean_to_json(std::string_view text) {
  if (text == "t" || text == "true") return json::value(true);
  if (text == "f" || text == "false") return json::value(false);
  return value_errc::bad_text;
}

// Integers beyond 2^53 - 1 travel as their decimal text: a JSON reader's double (every
// browser's) would round them.
json_result integer_to_json(type_oid oid, std::string_view text) {
  std::int64_t v = 0;
  if (!parse_whole(text, v)) return value_errc::bad_text;
  const auto range = range_of(oid);
  if (v < range.min || v > range.max) return value_errc::bad_text;
  if (v < -max_exact_double_integer || v > max_exact_double_integer) {
    return json::value(json::string(std::to_string(v)));  // int8out's spelling, always
  }
  return json::value(v);
}

// Negative zero is one of them: a JSON number -0 does not survive jsonb (the change log's
// row format), whose numbers are numerics and have no negative zero.
bool is_float_special(std::string_view text) noexcept {
  return text == "NaN" || text == "Infinity" || text == "-Infinity" || text == "-0";
}

// float4in refuses what overflows to infinity or underflows to zero. Halfway between
// FLT_MAX and 2^128 already rounds to infinity (FLT_MAX's last mantissa bit is odd); below
// it the conversion is defined.
bool fits_float4(double d) noexcept {
  if (std::fabs(d) >= 0x1.ffffffp+127) return false;
  return static_cast<float>(d) != 0 || d == 0;
}

json_result floating_to_json(type_oid oid, std::string_view text) {
  if (is_float_special(text)) return json::value(json::string(text));
  double d = 0;
  // from_chars also reads "inf" and "nan" spellings, which PostgreSQL never prints.
  if (!parse_whole(text, d) || !std::isfinite(d)) return value_errc::bad_text;
  if (d == 0 && std::signbit(d)) return json::value(json::string("-0"));  // "-0e80" too
  if (oid == oids::float4) {
    if (!fits_float4(d)) return value_errc::bad_text;
    // The double of the float's shortest digits, whatever the spelling read: every text
    // of one float4 value gives the same JSON, and the JSON the same text back.
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<float>(d));
    if (!parse_whole(std::string_view(buf.data(), r.ptr), d)) return value_errc::bad_text;
  }
  return json::value(d);
}

// numeric_out's shape: an optional minus, digits, and digits after a point if any.
bool is_numeric_out(std::string_view text) noexcept {
  std::size_t i = text.starts_with('-') ? 1 : 0;
  const std::size_t int_start = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == int_start) return false;
  if (i == text.size()) return true;
  if (text[i] != '.') return false;
  const std::size_t frac_start = ++i;
  while (i < text.size() && is_digit(text[i])) ++i;
  return i != frac_start && i == text.size();
}

// The decimal written out in full, without an exponent, as numeric_out would print it.
std::string fixed_from_shortest(double d) {
  const std::string sci = format_double(d, std::chars_format::scientific);
  const auto e = sci.find('e');
  std::string digits;
  bool negative = false;
  for (std::size_t i = 0; i < e; ++i) {
    if (sci[i] == '-') negative = true;
    if (is_digit(sci[i])) digits += sci[i];
  }
  int exponent = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  std::string out = negative ? "-" : "";
  const auto n = static_cast<int>(digits.size());
  if (exponent >= n - 1) {
    out += digits;
    out.append(static_cast<std::size_t>(exponent - (n - 1)), '0');
  } else if (exponent >= 0) {
    out.append(digits, 0, static_cast<std::size_t>(exponent) + 1);
    out += '.';
    out.append(digits, static_cast<std::size_t>(exponent) + 1);
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
  }
  return out;
}

// A JSON number when the double holds exactly this decimal and prints back the same digits
// (so 0.5 and 12.25, not 0.1, 12.50 or 2^60); otherwise the decimal as a string, so that
// no digit of an exact type is lost on its way to a client.
json_result numeric_to_json(std::string_view text) {
  if (is_float_special(text)) return json::value(json::string(text));
  if (!is_numeric_out(text)) return value_errc::bad_text;
  const json::value as_string(json::string{text});

  // From the first non-zero digit to the last: trailing zeros of an integer do not count.
  const auto first = text.find_first_of("123456789");
  const auto last = text.find_last_of("123456789");
  std::size_t significant = 0;
  if (first != std::string_view::npos) {
    for (auto i = first; i <= last; ++i) significant += is_digit(text[i]) ? 1 : 0;
  }
  // No double prints more than 17 significant digits: skip the work for long decimals.
  if (significant > std::numeric_limits<double>::max_digits10) return as_string;

  double d = 0;
  if (!parse_whole(text, d) || !std::isfinite(d)) return as_string;
  if (fixed_from_shortest(d) != text) return as_string;
  // The shortest digits round-trip, but is the double this decimal exactly? Its complete
  // expansion ends where the decimal does only if so.
  std::string exact = format_double(d, std::chars_format::fixed, 1074);
  while (exact.back() == '0') exact.pop_back();
  if (exact.back() == '.') exact.pop_back();
  if (exact != text) return as_string;

  if (text.find('.') == std::string_view::npos) {
    // Whole numbers as integers, and only where they are unambiguous (as for int8).
    if (std::fabs(d) > static_cast<double>(max_exact_double_integer)) return as_string;
    return json::value(static_cast<std::int64_t>(d));
  }
  return json::value(d);
}

bool is_uuid_text(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

bool is_bytea_hex(std::string_view s) noexcept {
  if (!s.starts_with("\\x") || s.size() % 2 != 0) return false;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (!is_hex(s[i])) return false;
  }
  return true;
}

enum class json_problem { none, too_deep, not_finite, nul };

// Depth-bounded walk of a JSON value for what PostgreSQL or the JSON text cannot take:
// nesting beyond the limit, a non-finite number (Boost.JSON would print an invalid token)
// and, for jsonb, a NUL in a string or key (jsonb refuses \u0000).
json_problem find_json_problem(const json::value& v, bool jsonb, std::size_t depth = 0) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double()) ? json_problem::none : json_problem::not_finite;
    case json::kind::string:
      return jsonb && has_nul(v.get_string()) ? json_problem::nul : json_problem::none;
    case json::kind::array:
      if (depth >= max_json_depth) return json_problem::too_deep;
      for (const auto& e : v.get_array()) {
        if (auto p = find_json_problem(e, jsonb, depth + 1); p != json_problem::none) return p;
      }
      return json_problem::none;
    case json::kind::object:
      if (depth >= max_json_depth) return json_problem::too_deep;
      for (const auto& kv : v.get_object()) {
        if (jsonb && has_nul(kv.key())) return json_problem::nul;
        if (auto p = find_json_problem(kv.value(), jsonb, depth + 1); p != json_problem::none) {
          return p;
        }
      }
      return json_problem::none;
    default:
      return json_problem::none;
  }
}

// json and jsonb travel as PostgreSQL's text of the document: a JSON reader would round
// numbers a double cannot hold (0.1000000000000000055511151231257827, 2^70) and json's text
// keeps what a parsed value cannot (key order, duplicate keys, white space).
json_result json_text_to_json(type_oid oid, std::string_view text) {
  if (has_nul(text) || !is_json_text(text, max_json_text_depth, oid == oids::jsonb)) {
    return value_errc::bad_text;
  }
  return json::value(json::string(text));
}

json_result string_if(std::optional<std::string> s) {
  if (!s) return value_errc::bad_text;
  return json::value(json::string(*s));
}

json_result scalar_to_json(const column_type& type, std::string_view text) {
  switch (type.cls) {
    case type_class::boolean: return boolean_to_json(text);
    case type_class::integer: return integer_to_json(type.oid, text);
    case type_class::floating: return floating_to_json(type.oid, text);
    case type_class::numeric: return numeric_to_json(text);
    case type_class::uuid: {
      if (!is_uuid_text(text)) return value_errc::bad_text;
      json::string s(text);
      for (char& c : s) c = to_lower_hex(c);
      return json::value(std::move(s));
    }
    case type_class::date: return string_if(iso_date(text));
    case type_class::time:
      return string_if(iso_time(
          text, type.oid == oids::timetz ? zone_rule::required : zone_rule::forbidden));
    case type_class::timestamp: return string_if(iso_timestamp(text, zone_rule::forbidden));
    case type_class::timestamptz: return string_if(iso_timestamp(text, zone_rule::required));
    case type_class::interval:
      if (!is_iso_interval(text)) return value_errc::bad_text;
      return json::value(json::string(text));
    case type_class::json: return json_text_to_json(type.oid, text);
    case type_class::bytea:
      if (!is_bytea_hex(text)) return value_errc::bad_text;
      return json::value(json::string(text));
    case type_class::text:
    case type_class::other:
    case type_class::array:  // not a scalar: only reached for an inconsistent column_type
      break;
  }
  // An output function's text is a C string: a NUL means the bytes are not what it wrote.
  if (has_nul(text)) return value_errc::bad_text;
  return json::value(json::string(text));
}

// ---- JSON -> PostgreSQL text ----------------------------------------------------------

text_result boolean_to_text(const json::value& v) {
  if (!v.is_bool()) return value_errc::wrong_type;
  return std::string(v.get_bool() ? "t" : "f");  // what boolout prints
}

text_result integer_to_text(type_oid oid, const json::value& v) {
  const auto range = range_of(oid);
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(range.max)) return value_errc::out_of_range;
    n = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_string()) {
    // The decimal text that integers beyond 2^53 travel as.
    const std::string_view s = v.get_string();
    if (s.starts_with('+') || !parse_whole(s, n)) return value_errc::bad_format;
  } else if (v.is_double()) {
    const double d = v.get_double();
    if (!std::isfinite(d) || std::trunc(d) != d) return value_errc::wrong_type;
    // 2^63 is exactly representable; anything at or beyond it is out of int64.
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
      return value_errc::out_of_range;
    }
    n = static_cast<std::int64_t>(d);
  } else {
    return value_errc::wrong_type;
  }
  if (n < range.min || n > range.max) return value_errc::out_of_range;
  return std::to_string(n);
}

text_result floating_to_text(type_oid oid, const json::value& v) {
  if (v.is_string()) {
    if (!is_float_special(v.get_string())) return value_errc::bad_format;
    return std::string(v.get_string());
  }
  // Whole numbers too (a float that is one reaches JSON, or the log's jsonb, as an
  // integer): PostgreSQL prints 1e+18, not 1000000000000000000.
  double d = 0;
  if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    d = v.get_double();
  } else {
    return value_errc::wrong_type;
  }
  if (!std::isfinite(d)) return value_errc::out_of_range;
  if (oid == oids::float4 && !fits_float4(d)) return value_errc::out_of_range;
  return pg_float_text(d, oid == oids::float4);
}

// numeric_in's syntax: sign, digits with an optional point, optional exponent.
bool is_decimal_text(std::string_view s) noexcept {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t start = i;
    long exponent = 0;
    while (i < s.size() && is_digit(s[i])) {
      exponent = exponent * 10 + (s[i] - '0');
      if (exponent > numeric_max_exponent) return false;
      ++i;
    }
    if (i == start) return false;
  }
  return i == s.size();
}

text_result numeric_to_text(const json::value& v) {
  if (v.is_string()) {
    const std::string_view s = v.get_string();
    if (!is_float_special(s) && !is_decimal_text(s)) return value_errc::bad_format;
    return std::string(s);
  }
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (!v.is_double()) return value_errc::wrong_type;
  const double d = v.get_double();
  if (!std::isfinite(d)) return value_errc::out_of_range;
  // Fixed notation, so the text reads back through text_to_json the same way.
  return fixed_from_shortest(d);
}

text_result string_to_text(const json::value& v) {
  if (!v.is_string()) return value_errc::wrong_type;
  if (has_nul(v.get_string())) return value_errc::bad_format;
  return std::string(v.get_string());
}

text_result shaped_string_to_text(const json::value& v, bool (*valid)(std::string_view)) {
  if (!v.is_string()) return value_errc::wrong_type;
  if (!valid(v.get_string())) return value_errc::bad_format;
  return std::string(v.get_string());
}

std::string_view string_or_empty(const json::value& v) noexcept {
  return v.is_string() ? std::string_view(v.get_string()) : std::string_view();
}

// A string that `converted` read and rewrote in PostgreSQL's spelling (nullopt: it did not).
text_result converted_string_to_text(const json::value& v, std::optional<std::string> converted) {
  if (!v.is_string()) return value_errc::wrong_type;
  if (!converted) return value_errc::bad_format;
  return std::move(*converted);
}

text_result uuid_to_text(const json::value& v) {
  if (!v.is_string()) return value_errc::wrong_type;
  if (!is_uuid_text(v.get_string())) return value_errc::bad_format;
  std::string s(v.get_string());
  for (char& c : s) c = to_lower_hex(c);
  return s;
}

// A string is the document's text (what fieldsync hands out); any other JSON value is the
// document itself, for clients that build it in place.
text_result json_value_to_text(type_oid oid, const json::value& v) {
  const bool jsonb = oid == oids::jsonb;
  if (v.is_string()) {
    const std::string_view text = v.get_string();
    if (has_nul(text) || !is_json_text(text, max_json_text_depth, jsonb)) {
      return value_errc::bad_format;
    }
    return std::string(text);
  }
  switch (find_json_problem(v, jsonb)) {
    case json_problem::none: return json::serialize(v);
    case json_problem::too_deep: return value_errc::too_deep;
    case json_problem::not_finite:
    case json_problem::nul: return value_errc::bad_format;
  }
  return value_errc::bad_format;
}

text_result scalar_to_text(const column_type& type, const json::value& v) {
  switch (type.cls) {
    case type_class::boolean: return boolean_to_text(v);
    case type_class::integer: return integer_to_text(type.oid, v);
    case type_class::floating: return floating_to_text(type.oid, v);
    case type_class::numeric: return numeric_to_text(v);
    case type_class::uuid: return uuid_to_text(v);
    case type_class::date: return converted_string_to_text(v, pg_date(string_or_empty(v)));
    case type_class::time:
      if (type.oid == oids::timetz) {
        return shaped_string_to_text(
            v, [](std::string_view s) { return iso_time(s, zone_rule::required).has_value(); });
      }
      return shaped_string_to_text(
          v, [](std::string_view s) { return iso_time(s, zone_rule::forbidden).has_value(); });
    case type_class::timestamp:
      return converted_string_to_text(v, pg_timestamp(string_or_empty(v), zone_rule::forbidden));
    case type_class::timestamptz:
      return converted_string_to_text(v, pg_timestamp(string_or_empty(v), zone_rule::required));
    case type_class::interval: return shaped_string_to_text(v, is_iso_interval);
    case type_class::json: return json_value_to_text(type.oid, v);
    case type_class::bytea: return shaped_string_to_text(v, is_bytea_hex);
    case type_class::text:
    case type_class::other:
    case type_class::array:  // not a scalar: only reached for an inconsistent column_type
      return string_to_text(v);
  }
  return string_to_text(v);
}

column_type element_type(const column_type& array) noexcept {
  column_type e = describe_type(array.element_oid);
  // A hand-made column_type may name the element class without its OID.
  if (e.cls == type_class::other) e.cls = array.element;
  if (e.cls == type_class::array) e.cls = type_class::other;
  return e;
}

}  // namespace

const boost::system::error_category& value_category() noexcept {
  static const value_category_impl instance;
  return instance;
}

boost::system::result<json::value> text_to_json(const column_type& type, std::string_view text) {
  if (type.cls == type_class::array) return array_text_to_json(element_type(type), text);
  return scalar_to_json(type, text);
}

boost::system::result<std::string> json_to_text(const column_type& type, const json::value& value) {
  if (value.is_null()) return value_errc::wrong_type;  // NULL is the caller's business
  if (type.cls == type_class::array) {
    if (value.is_string()) {
      // The text form of an array with lower bounds, as fieldsync hands it out.
      const std::string_view text = value.get_string();
      if (has_nul(text) || !array_text_to_json(element_type(type), text)) {
        return value_errc::bad_format;
      }
      return std::string(text);
    }
    if (!value.is_array()) return value_errc::wrong_type;
    return json_to_array_text(element_type(type), value.get_array());
  }
  return scalar_to_text(type, value);
}

}  // namespace fieldsync::protocol
