#pragma once
// The tokens of the filter language (docs/filters.md, "Grammar"). The lexer reads one token at
// a time from text the parser has already length-checked, and rejects bytes that could make
// C++ and PostgreSQL see different strings: NUL and invalid UTF-8.

#include "protocol/filter/filter_error.hpp"
#include "protocol/filter/filter_limits.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

struct filter_token {
  enum class kind : std::uint8_t {
    end,
    identifier,  // a column name: unquoted (folded to lower case) or "quoted"
    string,      // '...' with '' for a quote; text holds the value
    number,      // -?digits(.digits)?; text holds it as written
    param,       // $n
    claim,       // $claims.NAME; text holds NAME
    kw_and,
    kw_or,
    kw_not,
    kw_in,
    kw_is,
    kw_null,
    kw_true,
    kw_false,
    kw_like,
    kw_any,
    op_eq,
    op_ne,
    op_lt,
    op_le,
    op_gt,
    op_ge,  // = (<> or !=) < <= > >=
    lparen,
    rparen,
    comma,
  };

  kind k = kind::end;
  std::size_t position = 0;
  std::string text;
  std::uint32_t param = 0;
};

// How a token is named in error messages: "')'", "the keyword AND", "the end of the filter".
std::string describe(const filter_token& t);

class filter_lexer {
 public:
  filter_lexer(std::string_view text, const filter_limits& limits) noexcept
      : text_(text), limits_(limits) {}

  filter_result<filter_token> next();

 private:
  filter_result<filter_token> lex_string(std::size_t start);
  filter_result<filter_token> lex_quoted_identifier(std::size_t start);
  filter_result<filter_token> lex_number(std::size_t start);
  filter_result<filter_token> lex_dollar(std::size_t start);
  std::string lex_name(std::size_t& pos);

  std::string_view text_;
  filter_limits limits_;
  std::size_t pos_ = 0;
};

}  // namespace fieldsync::protocol
