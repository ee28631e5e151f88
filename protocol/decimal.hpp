#pragma once
// An exact decimal number: the one reading of decimal texts in the tree. The merge strategies
// do arithmetic on it (counter adds deltas, max and min compare) and the filter language
// normalises its numeric literals with it. PostgreSQL numeric values reach fieldsync as
// decimal strings ("0.10") or JSON numbers (protocol/value_json.hpp); going through double
// would make 0.10 + 0.20 into 0.30000000000000004 and lose int8 values beyond 2^53.
//
// A value is sign × digits × 10^-scale. The scale is kept as written ("1.50" has scale 2 and
// prints as "1.50"; a sum has the larger scale of its operands), the way PostgreSQL's
// numeric keeps it. Values are bounded (max_digits), so no input makes arithmetic slow.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

class decimal {
 public:
  // At most this many significant digits and this many digits after the point. PostgreSQL's
  // numeric allows more; a counter with more digits than this is not a counter.
  static constexpr std::size_t max_digits = 1000;

  decimal() = default;  // 0

  enum class parse_error {
    not_a_number,     // not the grammar below
    too_many_digits,  // a number, beyond max_digits
  };

  // "-12.50", "+3", ".5", "5.", "1.5e3", "2E-4". No whitespace, no NaN or Infinity.
  static std::optional<decimal> parse(std::string_view text);
  // The same, telling why a text is refused (an error message needs to).
  static std::optional<decimal> parse(std::string_view text, parse_error& why);
  static decimal from_int(std::int64_t v);
  static decimal from_uint(std::uint64_t v);
  // The shortest decimal that reads back as `v` (what JavaScript and std::to_chars print),
  // which is the decimal a JSON number was written as; nullopt for NaN and infinities.
  static std::optional<decimal> from_double(double v);

  // Plain notation with `scale` digits after the point: "-0.30", "12", "100000000000000000001".
  std::string to_string() const;
  // The same value with trailing fractional zeros removed: one spelling per value.
  decimal normalized() const;
  int scale() const noexcept { return static_cast<int>(scale_); }
  bool is_integer() const noexcept;  // no non-zero fractional digits

  std::optional<std::int64_t> to_int64() const;    // nullopt when fractional or out of range
  std::optional<std::uint64_t> to_uint64() const;  // nullopt when fractional or out of range
  std::optional<double> to_double() const;         // the nearest double; nullopt beyond its range

  // nullopt when the result exceeds max_digits.
  friend std::optional<decimal> add(const decimal& a, const decimal& b);
  friend std::optional<decimal> subtract(const decimal& a, const decimal& b);
  decimal operator-() const;

  // By value: 1.5 == 1.50.
  friend std::strong_ordering compare(const decimal& a, const decimal& b);

 private:
  bool negative_ = false;  // never set for zero
  std::string digits_;     // magnitude, most significant first, no leading zeros; "" is 0
  std::size_t scale_ = 0;
};

}  // namespace fieldsync::protocol
