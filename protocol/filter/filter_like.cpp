#include "protocol/filter/filter_like.hpp"

#include <algorithm>
#include <array>

namespace fieldsync::protocol {

namespace {

// Bytes in the UTF-8 character that starts at s[i]; 1 for a stray byte, never past the end.
std::size_t char_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return i + n <= s.size() ? n : s.size() - i;
}

// One character as a number: its bytes and its length, so that two characters are equal
// exactly when their bytes are (stray and truncated sequences included).
std::uint64_t char_key(std::string_view s, std::size_t i, std::size_t n) noexcept {
  std::uint64_t k = n;
  for (std::size_t j = 0; j < n; ++j) k = (k << 8) | static_cast<unsigned char>(s[i + j]);
  return k;
}

void set_bit(std::vector<std::uint64_t>& words, std::size_t offset, std::size_t bit) {
  words[offset + bit / 64] |= std::uint64_t{1} << (bit % 64);
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

// The pattern without its '%'s is a sequence of characters c_1..c_m, each a literal or '_';
// a '%' after c_j (or before c_1, j = 0) lets any text pass while the match stays at j. The
// automaton's state is the set of j such that c_1..c_j match a prefix of what was read:
// bit j of words_ words. Reading a character moves every j to j + 1 where c_{j+1} accepts it,
// and keeps the j followed by a '%': ((D << 1) & accepts(ch)) | (D & gaps). This is the
// Shift-And algorithm (Baeza-Yates and Gonnet) with '%' as self-loops; unlike backtracking,
// no input makes it revisit the text.
std::optional<like_pattern> like_pattern::compile(std::string_view pattern) {
  struct item {
    std::uint64_t key;  // 0 for '_'
    bool gap_after;
  };
  std::vector<item> items;
  bool leading_gap = false;
  for (std::size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    if (c == '%') {
      (items.empty() ? leading_gap : items.back().gap_after) = true;
      ++i;
      continue;
    }
    if (c == '_') {
      items.push_back({0, false});
      ++i;
      continue;
    }
    std::size_t lit = i;
    if (c == '\\' && i + 1 < pattern.size()) lit = i + 1;
    const std::size_t len = char_length(pattern, lit);
    items.push_back({char_key(pattern, lit, len), false});
    i = lit + len;
  }
  if (items.size() > max_pattern_chars) return std::nullopt;

  like_pattern p;
  p.chars_ = items.size();
  p.words_ = (p.chars_ + 1 + 63) / 64;
  p.gaps_.assign(p.words_, 0);
  p.any_.assign(p.words_, 0);
  if (leading_gap) set_bit(p.gaps_, 0, 0);
  for (std::size_t j = 0; j < items.size(); ++j) {
    if (items[j].gap_after) set_bit(p.gaps_, 0, j + 1);
    if (items[j].key == 0) set_bit(p.any_, 0, j + 1);
    if (items[j].key != 0) p.keys_.push_back(items[j].key);
  }
  std::sort(p.keys_.begin(), p.keys_.end());
  p.keys_.erase(std::unique(p.keys_.begin(), p.keys_.end()), p.keys_.end());
  p.masks_.assign(p.keys_.size() * p.words_, 0);
  for (std::size_t j = 0; j < items.size(); ++j) {
    if (items[j].key == 0) continue;
    const auto at = std::lower_bound(p.keys_.begin(), p.keys_.end(), items[j].key);
    const auto index = static_cast<std::size_t>(at - p.keys_.begin());
    set_bit(p.masks_, index * p.words_, j + 1);
  }
  return p;
}

bool like_pattern::match(std::string_view text) const noexcept {
  std::array<std::uint64_t, max_words> d{};
  d[0] = 1;
  const std::size_t last_word = chars_ / 64;
  const std::uint64_t last_bit = std::uint64_t{1} << (chars_ % 64);
  // Once the whole pattern has matched and a '%' ends it, any rest of the text matches.
  const bool trailing_gap = (gaps_[last_word] & last_bit) != 0;
  for (std::size_t t = 0; t < text.size();) {
    if (trailing_gap && (d[last_word] & last_bit) != 0) return true;
    const std::size_t len = char_length(text, t);
    const std::uint64_t key = char_key(text, t, len);
    t += len;
    const auto at = std::lower_bound(keys_.begin(), keys_.end(), key);
    const std::uint64_t* literal =
        at != keys_.end() && *at == key
            ? masks_.data() + static_cast<std::size_t>(at - keys_.begin()) * words_
            : nullptr;
    std::uint64_t carry = 0;
    std::uint64_t alive = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      const std::uint64_t shifted = (d[w] << 1) | carry;
      carry = d[w] >> 63;
      const std::uint64_t accepts = any_[w] | (literal ? literal[w] : 0);
      d[w] = (shifted & accepts) | (d[w] & gaps_[w]);
      alive |= d[w];
    }
    if (alive == 0) return false;
  }
  return (d[last_word] & last_bit) != 0;
}

std::size_t like_pattern::memory_bytes() const noexcept {
  return sizeof(*this) +
         sizeof(std::uint64_t) * (gaps_.size() + any_.size() + keys_.size() + masks_.size());
}

bool like_match(std::string_view text, std::string_view pattern) {
  const auto p = like_pattern::compile(pattern);
  return p && p->match(text);
}

}  // namespace fieldsync::protocol
