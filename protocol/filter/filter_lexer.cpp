#include "protocol/filter/filter_lexer.hpp"
#include "protocol/pg_text.hpp"

#include <charconv>

namespace fieldsync::protocol {

namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_ident_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) noexcept {
  return is_ident_start(c) || is_digit(c);
}
char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

filter_error syntax_error(std::size_t at, std::string message) {
  return filter_error{filter_errc::syntax, at, std::move(message)};
}

// PostgreSQL refuses text that is not UTF-8 or holds NUL as a parameter, and libpq would
// cut it at a NUL, so C++ and SQL would compare different strings.
std::size_t first_bad_byte(std::string_view s) noexcept { return first_bad_text_byte(s); }

struct keyword {
  std::string_view word;
  filter_token::kind k;
};
constexpr keyword keywords[] = {
    {"and", filter_token::kind::kw_and},   {"or", filter_token::kind::kw_or},
    {"not", filter_token::kind::kw_not},   {"in", filter_token::kind::kw_in},
    {"is", filter_token::kind::kw_is},     {"null", filter_token::kind::kw_null},
    {"true", filter_token::kind::kw_true}, {"false", filter_token::kind::kw_false},
    {"like", filter_token::kind::kw_like}, {"any", filter_token::kind::kw_any},
};

}  // namespace

std::string describe(const filter_token& t) {
  using k = filter_token::kind;
  switch (t.k) {
    case k::end:
      return "the end of the filter";
    case k::identifier:
      return "the column name \"" + t.text + "\"";
    case k::string:
      return "a string";
    case k::number:
      return "the number " + t.text;
    case k::param:
      return "$" + std::to_string(t.param);
    case k::claim:
      return "$claims." + t.text;
    case k::kw_and:
      return "AND";
    case k::kw_or:
      return "OR";
    case k::kw_not:
      return "NOT";
    case k::kw_in:
      return "IN";
    case k::kw_is:
      return "IS";
    case k::kw_null:
      return "NULL";
    case k::kw_true:
      return "TRUE";
    case k::kw_false:
      return "FALSE";
    case k::kw_like:
      return "LIKE";
    case k::kw_any:
      return "ANY";
    case k::op_eq:
      return "'='";
    case k::op_ne:
      return "'<>'";
    case k::op_lt:
      return "'<'";
    case k::op_le:
      return "'<='";
    case k::op_gt:
      return "'>'";
    case k::op_ge:
      return "'>='";
    case k::lparen:
      return "'('";
    case k::rparen:
      return "')'";
    case k::comma:
      return "','";
  }
  return "a token";
}

filter_result<filter_token> filter_lexer::next() {
  if (pos_ == 0) {
    if (auto bad = first_bad_byte(text_); bad != std::string_view::npos) {
      return syntax_error(
          bad, text_[bad] == '\0' ? "NUL character in the filter" : "invalid UTF-8 in the filter");
    }
  }
  while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  if (pos_ >= text_.size()) return filter_token{filter_token::kind::end, text_.size(), {}, 0};

  const std::size_t start = pos_;
  const char c = text_[pos_];
  auto simple = [&](filter_token::kind k, std::size_t len) {
    pos_ += len;
    return filter_token{k, start, {}, 0};
  };
  auto peek = [&](std::size_t ahead) -> char {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  };
  using k = filter_token::kind;
  switch (c) {
    case '(':
      return simple(k::lparen, 1);
    case ')':
      return simple(k::rparen, 1);
    case ',':
      return simple(k::comma, 1);
    case '=':
      return simple(k::op_eq, 1);
    case '<':
      if (peek(1) == '=') return simple(k::op_le, 2);
      if (peek(1) == '>') return simple(k::op_ne, 2);
      return simple(k::op_lt, 1);
    case '>':
      if (peek(1) == '=') return simple(k::op_ge, 2);
      return simple(k::op_gt, 1);
    case '!':
      if (peek(1) == '=') return simple(k::op_ne, 2);
      return syntax_error(start, "expected '=' after '!'");
    case '\'':
      return lex_string(start);
    case '"':
      return lex_quoted_identifier(start);
    case '$':
      return lex_dollar(start);
    default:
      break;
  }
  if (is_digit(c) || c == '-' || c == '.') return lex_number(start);
  if (is_ident_start(c)) {
    std::size_t pos = start;
    std::string name = lex_name(pos);
    pos_ = pos;
    for (const auto& kw : keywords) {
      if (name == kw.word) return filter_token{kw.k, start, {}, 0};
    }
    return filter_token{k::identifier, start, std::move(name), 0};
  }
  if (static_cast<unsigned char>(c) >= 0x80) {
    return syntax_error(start,
                        "unexpected character: column names other than [A-Za-z0-9_] must be "
                        "double-quoted");
  }
  return syntax_error(start, std::string("unexpected character '") + c + "'");
}

// An unquoted name: folded to lower case, as PostgreSQL folds unquoted identifiers.
std::string filter_lexer::lex_name(std::size_t& pos) {
  std::string name;
  while (pos < text_.size() && is_ident_char(text_[pos])) name.push_back(to_lower(text_[pos++]));
  return name;
}

filter_result<filter_token> filter_lexer::lex_string(std::size_t start) {
  std::string value;
  std::size_t pos = start + 1;
  while (true) {
    if (pos >= text_.size())
      return syntax_error(start, "unterminated string: expected a closing '");
    if (text_[pos] == '\'') {
      if (pos + 1 < text_.size() && text_[pos + 1] == '\'') {
        value.push_back('\'');
        pos += 2;
        continue;
      }
      ++pos;
      break;
    }
    value.push_back(text_[pos++]);
  }
  pos_ = pos;
  return filter_token{filter_token::kind::string, start, std::move(value), 0};
}

filter_result<filter_token> filter_lexer::lex_quoted_identifier(std::size_t start) {
  std::string name;
  std::size_t pos = start + 1;
  while (true) {
    if (pos >= text_.size()) {
      return syntax_error(start, "unterminated quoted column name: expected a closing \"");
    }
    if (text_[pos] == '"') {
      if (pos + 1 < text_.size() && text_[pos + 1] == '"') {
        name.push_back('"');
        pos += 2;
        continue;
      }
      ++pos;
      break;
    }
    name.push_back(text_[pos++]);
  }
  if (name.empty()) return syntax_error(start, "empty quoted column name");
  pos_ = pos;
  return filter_token{filter_token::kind::identifier, start, std::move(name), 0};
}

filter_result<filter_token> filter_lexer::lex_number(std::size_t start) {
  std::size_t pos = start;
  if (text_[pos] == '-') ++pos;
  const std::size_t int_start = pos;
  while (pos < text_.size() && is_digit(text_[pos])) ++pos;
  if (pos == int_start) {
    return syntax_error(
        start, text_[start] == '-' ? "expected a digit after '-'" : "expected a digit before '.'");
  }
  if (pos < text_.size() && text_[pos] == '.') {
    ++pos;
    const std::size_t frac_start = pos;
    while (pos < text_.size() && is_digit(text_[pos])) ++pos;
    if (pos == frac_start) return syntax_error(pos, "expected a digit after '.'");
  }
  if (pos < text_.size() && (is_ident_char(text_[pos]) || text_[pos] == '.')) {
    return syntax_error(pos, "unexpected character after a number (exponents are not supported)");
  }
  pos_ = pos;
  return filter_token{filter_token::kind::number, start,
                      std::string(text_.substr(start, pos - start)), 0};
}

filter_result<filter_token> filter_lexer::lex_dollar(std::size_t start) {
  std::size_t pos = start + 1;
  if (pos < text_.size() && is_digit(text_[pos])) {
    const std::size_t digits = pos;
    while (pos < text_.size() && is_digit(text_[pos])) ++pos;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text_.data() + digits, text_.data() + pos, n);
    if (ec != std::errc{} || n > limits_.max_param || n == 0) {
      return syntax_error(start,
                          "parameter numbers run from $1 to $" + std::to_string(limits_.max_param));
    }
    if (pos < text_.size() && is_ident_char(text_[pos])) {
      return syntax_error(pos, "unexpected character after a parameter");
    }
    pos_ = pos;
    return filter_token{filter_token::kind::param, start, {}, static_cast<std::uint32_t>(n)};
  }
  constexpr std::string_view claims = "claims.";
  bool is_claims = text_.size() - pos >= claims.size();
  for (std::size_t i = 0; is_claims && i < claims.size(); ++i) {
    is_claims = to_lower(text_[pos + i]) == claims[i];
  }
  if (is_claims) {
    pos += claims.size();
    if (pos < text_.size() && text_[pos] == '"') {
      auto q = lex_quoted_identifier(pos);
      if (!q) return q.error();
      return filter_token{filter_token::kind::claim, start, std::move(q->text), 0};
    }
    if (pos >= text_.size() || !is_ident_start(text_[pos])) {
      return syntax_error(pos, "expected a claim name after $claims.");
    }
    // Claim names keep their case: they are JSON keys, not SQL identifiers.
    std::string name;
    while (pos < text_.size() && is_ident_char(text_[pos])) name.push_back(text_[pos++]);
    pos_ = pos;
    return filter_token{filter_token::kind::claim, start, std::move(name), 0};
  }
  return syntax_error(start, "expected a parameter ($1, $2, ...) or $claims.NAME after '$'");
}

}  // namespace fieldsync::protocol
