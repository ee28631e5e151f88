#pragma once
// LIKE as PostgreSQL evaluates it with its default escape: '%' matches any run of characters,
// '_' exactly one character (a UTF-8 code point, as in a UTF-8 database), a backslash makes
// the next character literal, everything else matches itself, case-sensitively.
//
// Rows are matched on the reactor thread, against texts of any length, with patterns that
// come from clients: matching must cost time linear in the text whatever the pattern is.
// like_pattern is the compiled form the fan-out evaluates (a bit-parallel simulation of the
// pattern's automaton: one pass over the text, ceil((pattern characters + 1) / 64) machine
// words of work per text character); patterns are at most max_pattern_chars characters, so
// that factor is a small constant (filter_limits::max_pattern_bytes bounds it further).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace fieldsync::protocol {

// The offset of a trailing unpaired backslash, which PostgreSQL rejects (but only when
// matching reaches it, so the error would depend on the row: fieldsync rejects the pattern
// up front instead).
std::optional<std::size_t> like_pattern_error(std::string_view pattern) noexcept;

class like_pattern {
 public:
  static constexpr std::size_t max_pattern_chars = 4095;

  // nullopt when the pattern has more than max_pattern_chars characters ('%' excluded). The
  // pattern must have passed like_pattern_error.
  static std::optional<like_pattern> compile(std::string_view pattern);

  // Whether `text` matches: one pass over the text, never allocates.
  bool match(std::string_view text) const noexcept;

  // Bytes the compiled form holds, for filter_limits' accounting.
  std::size_t memory_bytes() const noexcept;

 private:
  static constexpr std::size_t max_words = (max_pattern_chars + 1 + 63) / 64;

  std::size_t chars_ = 0;  // the pattern's characters other than '%'
  std::size_t words_ = 1;  // ceil((chars_ + 1) / 64)
  // Bit j: a '%' follows the j-th character (bit 0: the pattern starts with '%').
  std::vector<std::uint64_t> gaps_;
  // Bit j: the j-th character is '_'.
  std::vector<std::uint64_t> any_;
  // The distinct literal characters, sorted, and for each (words_ words at index i *
  // words_) the bits j of the positions that hold it.
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint64_t> masks_;
};

// Whether `text` matches `pattern`, for patterns evaluated once (bind-time folding): compiles
// and matches, linear in the text like like_pattern. The pattern must have passed
// like_pattern_error and have at most like_pattern::max_pattern_chars characters (false
// otherwise).
bool like_match(std::string_view text, std::string_view pattern);

}  // namespace fieldsync::protocol
