#include "protocol/filter/filter_like.hpp"

namespace fieldsync::protocol {

namespace {

// Bytes in the UTF-8 character that starts at s[i]; 1 for a stray byte, never past the end.
std::size_t char_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return i + n <= s.size() ? n : s.size() - i;
}

}  // namespace

std::optional<std::size_t> like_pattern_error(std::string_view pattern) noexcept {
  for (std::size_t i = 0; i < pattern.size(); i += char_length(pattern, i)) {
    if (pattern[i] == '\\') {
      if (i + 1 >= pattern.size()) return i;
      ++i;  // the escaped character is skipped by the loop step
    }
  }
  return std::nullopt;
}

bool like_match(std::string_view text, std::string_view pattern) noexcept {
  // The classic single-backtrack wildcard matcher: on a mismatch, retry from the most recent
  // '%' with it swallowing one more character. Earlier '%'s never need revisiting, because
  // the later one can absorb anything they could.
  std::size_t t = 0, p = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char c = pattern[p];
      if (c == '%') {
        star_p = ++p;
        star_t = t;
        continue;
      }
      if (c == '_') {
        t += char_length(text, t);
        ++p;
        continue;
      }
      std::size_t lit = p;
      if (c == '\\' && p + 1 < pattern.size()) lit = p + 1;
      const std::size_t len = char_length(pattern, lit);
      if (text.compare(t, len, pattern, lit, len) == 0 && t + len <= text.size()) {
        t += len;
        p = lit + len;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    star_t += char_length(text, star_t);
    t = star_t;
    p = star_p;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

}  // namespace fieldsync::protocol
