#include "protocol/row_digest.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>
#include <vector>

namespace fieldsync::protocol {

namespace {

constexpr int max_depth = 64;

// UTF-8 to UTF-16 code units, for ordering keys as JavaScript's default sort does (it
// compares code units: U+E000..U+FFFF sort after the surrogates of U+10000 and above,
// unlike byte order). Input comes from a parsed JSON string, so it is valid UTF-8.
std::u16string utf16_units(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = c;
    std::size_t len = 1;
    if (c >= 0xF0) {
      cp = c & 0x07u;
      len = 4;
    } else if (c >= 0xE0) {
      cp = c & 0x0Fu;
      len = 3;
    } else if (c >= 0xC0) {
      cp = c & 0x1Fu;
      len = 2;
    }
    for (std::size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// JSON.stringify's escaping of a string (ECMA-262 QuoteJSONString) over its UTF-8 bytes.
void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// A recursive-descent reader of one JSON text that writes the canonical form as it goes.
// The first failure sticks; every read is bounds-checked.
class canonicalizer {
 public:
  explicit canonicalizer(std::string_view in) : in_(in) {}

  bool run(std::string& out) {
    value(out, 0);
    skip_ws();
    return ok_ && pos_ == in_.size();
  }

 private:
  void fail() { ok_ = false; }
  bool more() const { return ok_ && pos_ < in_.size(); }
  void skip_ws() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void value(std::string& out, int depth) {
    if (depth > max_depth) return fail();
    skip_ws();
    if (!more()) return fail();
    char c = in_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      std::string s;
      if (!string(s)) return fail();
      append_quoted(out, s);
      return;
    }
    if (literal("true")) {
      out += "true";
      return;
    }
    if (literal("false")) {
      out += "false";
      return;
    }
    if (literal("null")) {
      out += "null";
      return;
    }
    number(out);
  }

  void object(std::string& out, int depth) {
    ++pos_;  // {
    std::vector<std::pair<std::u16string, std::string>> members;
    std::vector<std::string> keys;
    skip_ws();
    if (more() && in_[pos_] == '}') {
      ++pos_;
    } else {
      for (;;) {
        skip_ws();
        std::string key;
        if (!more() || in_[pos_] != '"' || !string(key)) return fail();
        skip_ws();
        if (!more() || in_[pos_] != ':') return fail();
        ++pos_;
        std::string member;
        append_quoted(member, key);
        member += ':';
        value(member, depth + 1);
        if (!ok_) return;
        members.emplace_back(utf16_units(key), std::move(member));
        skip_ws();
        if (!more()) return fail();
        if (in_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (in_[pos_] == '}') {
          ++pos_;
          break;
        }
        return fail();
      }
    }
    // JSON.parse keeps the last of duplicate keys; stable sort keeps them in order, and
    // only the last of each run is printed.
    std::stable_sort(members.begin(), members.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;
      if (!first) out += ',';
      first = false;
      out += members[i].second;
    }
    out += '}';
  }

  void array(std::string& out, int depth) {
    ++pos_;  // [
    out += '[';
    skip_ws();
    if (more() && in_[pos_] == ']') {
      ++pos_;
      out += ']';
      return;
    }
    for (bool first = true;; first = false) {
      if (!first) out += ',';
      value(out, depth + 1);
      if (!ok_) return;
      skip_ws();
      if (!more()) return fail();
      if (in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (in_[pos_] == ']') {
        ++pos_;
        out += ']';
        return;
      }
      return fail();
    }
  }

  bool hex4(std::uint32_t& v) {
    if (pos_ + 4 > in_.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = in_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  // The decoded UTF-8 text of a string literal. Lone surrogates (which PostgreSQL text
  // cannot hold) are refused.
  bool string(std::string& s) {
    ++pos_;  // "
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (pos_ >= in_.size()) return false;
      char e = in_[pos_++];
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          std::uint32_t u = 0;
          if (!hex4(u)) return false;
          if (u >= 0xD800 && u <= 0xDBFF) {
            std::uint32_t low = 0;
            if (pos_ + 2 > in_.size() || in_[pos_] != '\\' || in_[pos_ + 1] != 'u') return false;
            pos_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
          } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return false;
          }
          append_utf8(s, u);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  void number(std::string& out) {
    std::size_t start = pos_;
    if (pos_ < in_.size() && in_[pos_] == '-') ++pos_;
    auto digits = [&] {
      std::size_t n = 0;
      while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_, ++n;
      return n;
    };
    if (digits() == 0) return fail();
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return fail();
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail();
    }
    // from_chars rounds correctly to the nearest double, as JSON.parse does; a magnitude
    // beyond the double range is Infinity in JavaScript, which JSON cannot print: null.
    double v = 0;
    auto text = in_.substr(start, pos_ - start);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range) {
      // Underflow reads as zero, overflow as Infinity (printed null by JSON.stringify).
      auto epos = text.find_first_of("eE");
      bool tiny = epos != std::string_view::npos && epos + 1 < text.size() && text[epos + 1] == '-';
      out += tiny ? "0" : "null";
      return;
    }
    if (ec != std::errc() || end != text.data() + text.size()) return fail();
    out += js_number_text(v);
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string js_number_text(double v) {
  if (std::isnan(v) || std::isinf(v)) return "null";  // JSON.stringify's answer
  if (v == 0) return "0";                              // also -0
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  if (ec != std::errc()) return "null";
  std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  // sci is d[.ddd]e±XX with the fewest digits that read back as v (ECMA-262
  // Number::toString's k), then the exponent.
  auto epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  auto exp_text = sci.substr(epos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out += '.';
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(n - 1 >= 0 ? n - 1 : 1 - n);
  }
  return out;
}

boost::system::result<std::string> canonical_row_text(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  canonicalizer c(json);
  if (!c.run(out)) return make_error_code(std::errc::invalid_argument);
  return out;
}

std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t row_hash(std::string_view key, std::string_view canonical_row) noexcept {
  std::string text;
  text.reserve(key.size() + canonical_row.size() + 8);
  text += '[';
  append_quoted(text, key);
  text += ',';
  text += canonical_row;
  text += ']';
  return fnv1a64(text);
}

std::string row_digest::hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  auto v = sum_;
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[v & 0xF];
    v >>= 4;
  }
  return out;
}

}  // namespace fieldsync::protocol
