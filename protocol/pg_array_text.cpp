#include "protocol/pg_array_text.hpp"

#include "protocol/value_json.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace fieldsync::protocol {

namespace json = boost::json;

namespace {

// array_isspace of upstream.
bool is_array_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool iequals_null(std::string_view s) noexcept {
  if (s.size() != 4) return false;
  for (std::size_t i = 0; i < 4; ++i) {
    const char c = s[i] >= 'a' && s[i] <= 'z' ? static_cast<char>(s[i] - 'a' + 'A') : s[i];
    if (c != "NULL"[i]) return false;
  }
  return true;
}

struct parsed_array {
  json::array elements;  // nested, one level per dimension; NULL elements are JSON null
  bool bounds = false;   // written with a dimension decoration ("[0:2]={...}")
};

// The one reader of array_out's text. `Element` makes a JSON value of each non-NULL
// element's text (unescaped, unquoted) or refuses it:
// boost::system::result<json::value>(std::string_view).
template <class Element>
class array_text_parser {
 public:
  array_text_parser(Element element, std::string_view text) noexcept
      : element_(std::move(element)), text_(text) {}

  boost::system::result<parsed_array> parse() {
    parsed_array out;
    skip_space();
    out.bounds = next_is('[');
    if (out.bounds && !skip_dimensions()) return value_errc::bad_text;
    if (!eat('{')) return value_errc::bad_text;
    if (auto ec = parse_level(out.elements, 1)) return ec;
    skip_space();
    if (pos_ != text_.size()) return value_errc::bad_text;
    return out;
  }

 private:
  // "[lower:upper]" per dimension, then '='. Checked for shape only.
  bool skip_dimensions() noexcept {
    std::size_t dims = 0;
    while (eat('[')) {
      if (++dims > max_array_dimensions) return false;
      if (!skip_bound()) return false;
      if (eat(':') && !skip_bound()) return false;
      if (!eat(']')) return false;
    }
    skip_space();
    if (!eat('=')) return false;
    skip_space();
    return true;
  }

  bool skip_bound() noexcept {
    eat('-') || eat('+');
    const auto start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ != start;
  }

  // The elements of one brace level, after its '{'. Every level at one depth must have the
  // same length and the elements must all sit at the same depth, as in PostgreSQL.
  boost::system::error_code parse_level(json::array& out, std::size_t depth) {
    if (depth > max_array_dimensions) return value_errc::too_deep;
    skip_space();
    if (eat('}')) {
      // Only the whole array may be empty: PostgreSQL prints "{}" and rejects "{{}}".
      return depth == 1 ? boost::system::error_code{} : make_error_code(value_errc::bad_text);
    }
    for (;;) {
      skip_space();
      if (eat('{')) {
        if (leaf_depth_ && *leaf_depth_ <= depth) return value_errc::bad_text;
        json::array sub;
        if (auto ec = parse_level(sub, depth + 1)) return ec;
        out.emplace_back(std::move(sub));
      } else {
        if (leaf_depth_ && *leaf_depth_ != depth) return value_errc::bad_text;
        leaf_depth_ = depth;
        auto v = parse_element();
        if (!v) return v.error();
        out.push_back(std::move(*v));
      }
      skip_space();
      if (eat(',')) continue;
      if (eat('}')) break;
      return value_errc::bad_text;
    }
    auto& length = lengths_[depth - 1];
    if (length == 0) {
      length = out.size();
    } else if (length != out.size()) {
      return value_errc::bad_text;
    }
    return {};
  }

  boost::system::result<json::value> parse_element() {
    std::string s;
    if (eat('"')) {
      for (;;) {
        if (pos_ == text_.size()) return value_errc::bad_text;
        char c = text_[pos_++];
        if (c == '"') break;
        if (c == '\\') {
          if (pos_ == text_.size()) return value_errc::bad_text;
          c = text_[pos_++];
        }
        s += c;
      }
      return element_(s);
    }
    // Unquoted: up to the delimiter or the closing brace, trailing unescaped space dropped.
    bool escaped = false;
    std::size_t keep = 0;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}') {
      char c = text_[pos_++];
      if (c == '{' || c == '"') return value_errc::bad_text;
      if (c == '\\') {
        if (pos_ == text_.size()) return value_errc::bad_text;
        s += text_[pos_++];
        escaped = true;
        keep = s.size();
      } else {
        s += c;
        if (!is_array_space(c)) keep = s.size();
      }
    }
    s.resize(keep);
    if (s.empty() && !escaped) return value_errc::bad_text;
    if (!escaped && iequals_null(s)) return json::value(nullptr);
    return element_(s);
  }

  void skip_space() noexcept {
    while (pos_ < text_.size() && is_array_space(text_[pos_])) ++pos_;
  }
  bool next_is(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }
  bool eat(char c) noexcept {
    if (!next_is(c)) return false;
    ++pos_;
    return true;
  }

  Element element_;
  std::string_view text_;
  std::size_t pos_ = 0;
  std::optional<std::size_t> leaf_depth_;
  std::array<std::size_t, max_array_dimensions> lengths_{};
};

class array_text_writer {
 public:
  explicit array_text_writer(const column_type& element) noexcept : element_(element) {}

  boost::system::result<std::string> write(const json::array& a) {
    if (a.empty()) return std::string("{}");
    // The shape follows the first element of each level; every other level must match.
    const json::array* level = &a;
    for (;;) {
      if (dims_.size() == max_array_dimensions) return value_errc::too_deep;
      dims_.push_back(level->size());
      if (!level->front().is_array()) break;
      level = &level->front().get_array();
      if (level->empty()) return value_errc::bad_format;
    }
    if (auto ec = write_level(a, 0)) return ec;
    return std::move(out_);
  }

 private:
  boost::system::error_code write_level(const json::array& a, std::size_t depth) {
    if (a.size() != dims_[depth]) return value_errc::bad_format;
    out_ += '{';
    bool first = true;
    for (const auto& v : a) {
      if (!first) out_ += ',';
      first = false;
      if (depth + 1 < dims_.size()) {
        if (!v.is_array()) return value_errc::bad_format;
        if (auto ec = write_level(v.get_array(), depth + 1)) return ec;
      } else if (v.is_array()) {
        return value_errc::bad_format;
      } else if (v.is_null()) {
        out_ += "NULL";
      } else {
        auto text = json_to_text(element_, v);
        if (!text) return text.error();
        write_element(*text);
      }
    }
    out_ += '}';
    return {};
  }

  // As array_out writes it: quoted only when it must be (empty, NULL in any case, or
  // holding a brace, the delimiter, a quote, a backslash or white space), so the text is
  // PostgreSQL's own; array_in reads it back.
  void write_element(std::string_view text) {
    bool quote = text.empty() || iequals_null(text);
    for (char c : text) {
      quote = quote || c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' ||
              is_array_space(c);
    }
    if (!quote) {
      out_ += text;
      return;
    }
    out_ += '"';
    for (char c : text) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }

  const column_type& element_;
  std::vector<std::size_t> dims_;
  std::string out_;
};

}  // namespace

boost::system::result<json::value> array_text_to_json(const column_type& element,
                                                      std::string_view text) {
  auto to_json = [&element](std::string_view s) { return text_to_json(element, s); };
  auto parsed = array_text_parser(to_json, text).parse();
  if (!parsed) return parsed.error();
  // JSON arrays start at index 0 and have no place for a lower bound: such an array
  // travels as its text, so that no value changes on the way.
  if (parsed->bounds) return json::value(json::string(text));
  return json::value(std::move(parsed->elements));
}

boost::system::result<std::vector<std::string>> array_text_to_strings(std::string_view text) {
  auto as_string = [](std::string_view s) -> boost::system::result<json::value> {
    return json::value(json::string(s));
  };
  auto parsed = array_text_parser(as_string, text).parse();
  if (!parsed) return parsed.error();
  // A list is numbered from 1: renumbering another lower bound would change which element
  // is which.
  if (parsed->bounds) return value_errc::bad_text;
  std::vector<std::string> out;
  out.reserve(parsed->elements.size());
  for (const auto& e : parsed->elements) {
    if (!e.is_string()) return value_errc::bad_text;  // a NULL, or a second dimension
    out.emplace_back(e.get_string());
  }
  return out;
}

boost::system::result<std::string> json_to_array_text(const column_type& element,
                                                      const json::array& value) {
  return array_text_writer(element).write(value);
}

}  // namespace fieldsync::protocol
