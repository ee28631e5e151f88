#include "storage/copy_text.hpp"

#include <charconv>

namespace fieldsync::storage {

namespace {

bool array_element_needs_quotes(std::string_view e) {
  if (e.empty()) return true;
  // array_in treats an unquoted NULL (any case) as a null element.
  if (e.size() == 4) {
    auto up = [](char c) { return static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c); };
    if (up(e[0]) == 'N' && up(e[1]) == 'U' && up(e[2]) == 'L' && up(e[3]) == 'L') return true;
  }
  for (char c : e) {
    switch (c) {
      case '{': case '}': case ',': case '"': case '\\':
      case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
        return true;
      default:
        break;
    }
  }
  return false;
}

}  // namespace

void append_copy_escaped(std::string& out, std::string_view value) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char esc = 0;
    switch (value[i]) {
      case '\\': esc = '\\'; break;
      case '\t': esc = 't'; break;
      case '\n': esc = 'n'; break;
      case '\r': esc = 'r'; break;
      default: continue;
    }
    out.append(value.substr(start, i - start));
    out += '\\';
    out += esc;
    start = i + 1;
  }
  out.append(value.substr(start));
}

std::string text_array_literal(std::span<const std::string_view> elements) {
  std::string out = "{";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out += ',';
    std::string_view e = elements[i];
    if (!array_element_needs_quotes(e)) {
      out += e;
      continue;
    }
    out += '"';
    for (char c : e) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

void append_json_string(std::string& out, std::string_view value) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void copy_row::separate() {
  if (!first_) out_ += '\t';
  first_ = false;
}

copy_row& copy_row::text(std::string_view value) {
  separate();
  append_copy_escaped(out_, value);
  return *this;
}

copy_row& copy_row::raw(std::string_view value) {
  separate();
  out_ += value;
  return *this;
}

copy_row& copy_row::integer(std::int64_t value) {
  separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;  // 24 bytes always fit an int64
  out_.append(buf, end);
  return *this;
}

copy_row& copy_row::null() {
  separate();
  out_ += "\\N";
  return *this;
}

copy_row& copy_row::text_array(std::span<const std::string_view> elements) {
  return text(text_array_literal(elements));
}

void copy_row::end() { out_ += '\n'; }

}  // namespace fieldsync::storage
