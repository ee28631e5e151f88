#include "protocol/decimal.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

namespace fieldsync::protocol {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

void strip_leading_zeros(std::string& d) {
  auto nz = d.find_first_not_of('0');
  d.erase(0, nz == std::string::npos ? d.size() : nz);
}

// Magnitudes without leading zeros: longer is larger, then digit by digit.
std::strong_ordering compare_magnitude(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() <=> b.size();
  return a.compare(b) <=> 0;
}

std::string add_magnitude(const std::string& a, const std::string& b) {
  std::string out;
  out.reserve(std::max(a.size(), b.size()) + 1);
  int carry = 0;
  for (std::size_t i = 0; i < a.size() || i < b.size() || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    out.push_back(static_cast<char>('0' + d % 10));
    carry = d / 10;
  }
  std::reverse(out.begin(), out.end());
  strip_leading_zeros(out);
  return out;
}

// a - b for a >= b.
std::string subtract_magnitude(const std::string& a, const std::string& b) {
  std::string out;
  out.reserve(a.size());
  int borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    int d = a[a.size() - 1 - i] - '0' - borrow;
    if (i < b.size()) d -= b[b.size() - 1 - i] - '0';
    borrow = d < 0 ? 1 : 0;
    out.push_back(static_cast<char>('0' + d + 10 * borrow));
  }
  std::reverse(out.begin(), out.end());
  strip_leading_zeros(out);
  return out;
}

// The magnitude at a larger scale: zeros appended (zero stays "").
std::string rescaled(const std::string& digits, std::size_t by) {
  if (digits.empty()) return digits;
  return digits + std::string(by, '0');
}

}  // namespace

std::optional<decimal> decimal::parse(std::string_view text, parse_error& why) {
  why = parse_error::too_many_digits;
  // Longer than any value within the bounds could be spelled, exponent included.
  if (text.size() > 2 * max_digits + 16) return std::nullopt;
  why = parse_error::not_a_number;
  if (text.empty()) return std::nullopt;
  std::size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') negative = text[i++] == '-';
  std::string digits;
  std::size_t fraction = 0;
  bool any_digit = false;
  while (i < text.size() && is_digit(text[i])) {
    digits.push_back(text[i++]);
    any_digit = true;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && is_digit(text[i])) {
      digits.push_back(text[i++]);
      ++fraction;
      any_digit = true;
    }
  }
  if (!any_digit) return std::nullopt;
  long long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) {
      if (i - start >= 6) {  // beyond any exponent within the bounds
        why = parse_error::too_many_digits;
        return std::nullopt;
      }
      exponent = exponent * 10 + (text[i++] - '0');
    }
    if (i == start) return std::nullopt;
    if (exp_negative) exponent = -exponent;
  }
  if (i != text.size()) return std::nullopt;

  why = parse_error::too_many_digits;
  decimal d;
  long long scale = static_cast<long long>(fraction) - exponent;
  strip_leading_zeros(digits);
  if (scale < 0) {
    if (-scale > static_cast<long long>(max_digits)) {
      if (!digits.empty()) return std::nullopt;
      scale = 0;
    } else {
      digits = rescaled(digits, static_cast<std::size_t>(-scale));
      scale = 0;
    }
  }
  if (digits.size() > max_digits || scale > static_cast<long long>(max_digits)) {
    return std::nullopt;
  }
  d.digits_ = std::move(digits);
  d.scale_ = static_cast<std::size_t>(scale);
  d.negative_ = negative && !d.digits_.empty();
  return d;
}

std::optional<decimal> decimal::parse(std::string_view text) {
  parse_error ignored;
  return parse(text, ignored);
}

decimal decimal::from_int(std::int64_t v) {
  decimal d;
  if (v < 0) {
    d.negative_ = true;
    // Through unsigned, so that the most negative int64 has a magnitude.
    d.digits_ = from_uint(0 - static_cast<std::uint64_t>(v)).digits_;
  } else {
    d.digits_ = from_uint(static_cast<std::uint64_t>(v)).digits_;
  }
  return d;
}

decimal decimal::from_uint(std::uint64_t v) {
  decimal d;
  if (v == 0) return d;
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  d.digits_.assign(buf, end);
  return d;
}

std::optional<decimal> decimal::from_double(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc{}) return std::nullopt;
  return parse(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

std::string decimal::to_string() const {
  std::string magnitude = digits_;
  if (magnitude.size() < scale_ + 1) {
    magnitude.insert(0, scale_ + 1 - magnitude.size(), '0');
  }
  if (scale_ > 0) magnitude.insert(magnitude.size() - scale_, 1, '.');
  if (negative_) magnitude.insert(0, 1, '-');
  return magnitude;
}

decimal decimal::normalized() const {
  decimal d = *this;
  while (d.scale_ > 0 && !d.digits_.empty() && d.digits_.back() == '0') {
    d.digits_.pop_back();
    --d.scale_;
  }
  if (d.digits_.empty()) d.scale_ = 0;
  return d;
}

bool decimal::is_integer() const noexcept {
  if (scale_ == 0) return true;
  std::size_t fractional = std::min(scale_, digits_.size());
  return std::all_of(digits_.end() - static_cast<std::ptrdiff_t>(fractional), digits_.end(),
                     [](char c) { return c == '0'; });
}

std::optional<std::int64_t> decimal::to_int64() const {
  if (!is_integer()) return std::nullopt;
  auto whole = normalized();
  std::uint64_t magnitude = 0;
  if (!whole.digits_.empty()) {
    const char* first = whole.digits_.data();
    auto [end, ec] = std::from_chars(first, first + whole.digits_.size(), magnitude);
    if (ec != std::errc{}) return std::nullopt;
  }
  constexpr std::uint64_t int64_max = 9'223'372'036'854'775'807ull;
  if (!negative_) {
    if (magnitude > int64_max) return std::nullopt;
    return static_cast<std::int64_t>(magnitude);
  }
  if (magnitude > int64_max + 1) return std::nullopt;
  if (magnitude == int64_max + 1) return -static_cast<std::int64_t>(int64_max) - 1;
  return -static_cast<std::int64_t>(magnitude);
}

std::optional<std::uint64_t> decimal::to_uint64() const {
  if (!is_integer() || negative_) return std::nullopt;
  auto whole = normalized();
  if (whole.digits_.empty()) return 0;
  std::uint64_t v = 0;
  const char* first = whole.digits_.data();
  auto [end, ec] = std::from_chars(first, first + whole.digits_.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

std::optional<double> decimal::to_double() const {
  std::string text = to_string();
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<decimal> add(const decimal& a, const decimal& b) {
  std::size_t scale = std::max(a.scale_, b.scale_);
  std::string x = rescaled(a.digits_, scale - a.scale_);
  std::string y = rescaled(b.digits_, scale - b.scale_);
  decimal r;
  r.scale_ = scale;
  if (a.negative_ == b.negative_) {
    r.digits_ = add_magnitude(x, y);
    r.negative_ = a.negative_;
  } else if (compare_magnitude(x, y) >= 0) {
    r.digits_ = subtract_magnitude(x, y);
    r.negative_ = a.negative_;
  } else {
    r.digits_ = subtract_magnitude(y, x);
    r.negative_ = b.negative_;
  }
  if (r.digits_.empty()) r.negative_ = false;
  if (r.digits_.size() > decimal::max_digits) return std::nullopt;
  return r;
}

std::optional<decimal> subtract(const decimal& a, const decimal& b) {
  return add(a, -b);
}

decimal decimal::operator-() const {
  decimal d = *this;
  d.negative_ = !digits_.empty() && !negative_;
  return d;
}

std::strong_ordering compare(const decimal& a, const decimal& b) {
  if (a.negative_ != b.negative_) {
    return a.negative_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  std::size_t scale = std::max(a.scale_, b.scale_);
  auto magnitude = compare_magnitude(rescaled(a.digits_, scale - a.scale_),
                                     rescaled(b.digits_, scale - b.scale_));
  return a.negative_ ? 0 <=> magnitude : magnitude;
}

}  // namespace fieldsync::protocol
