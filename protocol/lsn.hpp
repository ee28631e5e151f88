#pragma once
// A PostgreSQL WAL position (XLogRecPtr) and its text form "X/X" (upper-case hex).

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

class lsn {
 public:
  constexpr lsn() noexcept = default;
  constexpr explicit lsn(std::uint64_t v) noexcept : value_(v) {}

  // Parses "16/B374D848". Returns nullopt for anything else (no partial parses).
  static std::optional<lsn> parse(std::string_view text) noexcept;

  constexpr std::uint64_t value() const noexcept { return value_; }
  constexpr bool is_zero() const noexcept { return value_ == 0; }
  std::string to_string() const;

  friend constexpr auto operator<=>(lsn, lsn) noexcept = default;

 private:
  std::uint64_t value_ = 0;
};

}  // namespace fieldsync::protocol
