// The filter grammar: every construct, every syntax error with its position, the limits.

#include "protocol/filter/filter_parser.hpp"
#include "protocol/filter/filter_lexer.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace fieldsync::protocol;

namespace {

std::string dump(const filter_operand& o) {
  switch (o.k) {
    case filter_operand::kind::column:
      return "col:" + o.text;
    case filter_operand::kind::null_:
      return "null";
    case filter_operand::kind::boolean:
      return o.boolean ? "true" : "false";
    case filter_operand::kind::number:
      return "num:" + o.text;
    case filter_operand::kind::string:
      return "str:" + o.text;
    case filter_operand::kind::param:
      return "$" + std::to_string(o.param);
    case filter_operand::kind::claim:
      return "claim:" + o.text;
  }
  return "?";
}

std::string dump(const filter_node& n) {
  std::string out = "(";
  switch (n.k) {
    case filter_node::kind::and_:
      out += "and";
      break;
    case filter_node::kind::or_:
      out += "or";
      break;
    case filter_node::kind::not_:
      out += "not";
      break;
    case filter_node::kind::compare:
      out += to_sql(n.op);
      break;
    case filter_node::kind::in_list:
      out += n.negated ? "not-in" : "in";
      break;
    case filter_node::kind::any:
      out += "any";
      break;
    case filter_node::kind::is_null:
      out += n.negated ? "is-not-null" : "is-null";
      break;
    case filter_node::kind::like:
      out += n.negated ? "not-like" : "like";
      break;
    case filter_node::kind::value:
      out += "value";
      break;
  }
  for (const auto& c : n.children) out += " " + dump(c);
  for (const auto& o : n.operands) out += " " + dump(o);
  return out + ")";
}

std::string parsed(std::string_view text, const filter_limits& limits = {}) {
  auto ast = parse_filter(text, limits);
  if (!ast) return "error " + ast.error().to_string();
  return dump(ast->root);
}

filter_error parse_error(std::string_view text, const filter_limits& limits = {}) {
  auto ast = parse_filter(text, limits);
  INFO(text);
  REQUIRE_FALSE(ast.has_value());
  return ast.error();
}

}  // namespace

TEST_CASE("filter parser: comparisons and operands", "[filter][parser]") {
  CHECK(parsed("a = 1") == "(= col:a num:1)");
  CHECK(parsed("a <> 'x'") == "(<> col:a str:x)");
  CHECK(parsed("a != -2.50") == "(<> col:a num:-2.50)");
  CHECK(parsed("a<1") == "(< col:a num:1)");
  CHECK(parsed("a<=1") == "(<= col:a num:1)");
  CHECK(parsed("a>1") == "(> col:a num:1)");
  CHECK(parsed("a>=1") == "(>= col:a num:1)");
  CHECK(parsed("1 < a") == "(< num:1 col:a)");
  CHECK(parsed("a = true") == "(= col:a true)");
  CHECK(parsed("a = FALSE") == "(= col:a false)");
  CHECK(parsed("a = NuLl") == "(= col:a null)");
  CHECK(parsed("a = $1") == "(= col:a $1)");
  CHECK(parsed("a = $12") == "(= col:a $12)");
  CHECK(parsed("rep_id = $claims.rep_id") == "(= col:rep_id claim:rep_id)");
  CHECK(parsed("a = $CLAIMS.Rep") == "(= col:a claim:Rep)");
  CHECK(parsed("a = $claims.\"https://x/y\"") == "(= col:a claim:https://x/y)");
  CHECK(parsed("a = a") == "(= col:a col:a)");
  CHECK(parsed("0 = 007") == "(= num:0 num:007)");
}

TEST_CASE("filter parser: identifiers fold to lower case unless quoted", "[filter][parser]") {
  CHECK(parsed("Territory_ID = 1") == "(= col:territory_id num:1)");
  CHECK(parsed("\"Mixed Case\" = 1") == "(= col:Mixed Case num:1)");
  CHECK(parsed("\"a\"\"b\" = 1") == "(= col:a\"b num:1)");
  CHECK(parsed("\"and\" = 1") == "(= col:and num:1)");
  CHECK(parsed("\"é\" = 1") == "(= col:é num:1)");
  CHECK(parsed("_x9 = 1") == "(= col:_x9 num:1)");
}

TEST_CASE("filter parser: strings", "[filter][parser]") {
  CHECK(parsed("a = ''") == "(= col:a str:)");
  CHECK(parsed("a = 'it''s'") == "(= col:a str:it's)");
  CHECK(parsed("a = ''''") == "(= col:a str:')");
  CHECK(parsed("a = 'back\\slash'") == "(= col:a str:back\\slash)");
  CHECK(parsed("a = 'héllo wörld'") == "(= col:a str:héllo wörld)");
  CHECK(parsed("a = 'line\nbreak'") == "(= col:a str:line\nbreak)");
}

TEST_CASE("filter parser: IN, ANY, IS NULL, LIKE", "[filter][parser]") {
  CHECK(parsed("stage IN ('proposal','negotiation')") ==
        "(in col:stage str:proposal str:negotiation)");
  CHECK(parsed("a in (1)") == "(in col:a num:1)");
  CHECK(parsed("a NOT IN (1, NULL, $1, $claims.x)") == "(not-in col:a num:1 null $1 claim:x)");
  CHECK(parsed("territory_id = ANY($claims.territories)") ==
        "(any col:territory_id claim:territories)");
  CHECK(parsed("a = any ( $2 )") == "(any col:a $2)");
  CHECK(parsed("a IS NULL") == "(is-null col:a)");
  CHECK(parsed("a is not null") == "(is-not-null col:a)");
  CHECK(parsed("$1 IS NULL") == "(is-null $1)");
  CHECK(parsed("a LIKE 'x%'") == "(like col:a str:x%)");
  CHECK(parsed("a NOT LIKE $1") == "(not-like col:a $1)");
  CHECK(parsed("$claims.email LIKE '%@acme.com'") == "(like claim:email str:%@acme.com)");
}

TEST_CASE("filter parser: boolean structure and precedence", "[filter][parser]") {
  CHECK(parsed("a = 1 AND b = 2 AND c = 3") ==
        "(and (= col:a num:1) (= col:b num:2) (= col:c num:3))");
  CHECK(parsed("a = 1 OR b = 2 AND c = 3") ==
        "(or (= col:a num:1) (and (= col:b num:2) (= col:c num:3)))");
  CHECK(parsed("(a = 1 OR b = 2) AND c = 3") ==
        "(and (or (= col:a num:1) (= col:b num:2)) (= col:c num:3))");
  CHECK(parsed("NOT a = 1 AND b = 2") == "(and (not (= col:a num:1)) (= col:b num:2))");
  CHECK(parsed("NOT NOT a") == "(not (not (value col:a)))");
  CHECK(parsed("not (a or b)") == "(not (or (value col:a) (value col:b)))");
  CHECK(parsed("((a))") == "(value col:a)");
  CHECK(parsed("won") == "(value col:won)");
  CHECK(parsed("TRUE") == "(value true)");
  CHECK(parsed("$claims.is_admin OR a = 1") == "(or (value claim:is_admin) (= col:a num:1))");
  CHECK(parsed("a=1 and(b=2)") == "(and (= col:a num:1) (= col:b num:2))");
  CHECK(parsed("  \t\na = 1\r\n ") == "(= col:a num:1)");
}

TEST_CASE("filter parser: the field-sales examples", "[filter][parser]") {
  CHECK(parsed("stage IN ('proposal','negotiation') AND amount > 10000") ==
        "(and (in col:stage str:proposal str:negotiation) (> col:amount num:10000))");
  CHECK(parsed("visited_at >= $1") == "(>= col:visited_at $1)");
  auto ast = parse_filter("a = $3 OR b = $1");
  REQUIRE(ast.has_value());
  CHECK(ast->max_param == 3);
  CHECK(ast->node_count == 7);
}

TEST_CASE("filter parser: syntax errors name the position and what was expected",
          "[filter][parser]") {
  struct bad_case {
    const char* text;
    std::size_t position;
    const char* message;
  };
  const bad_case cases[] = {
      {"", 0, "expected a condition"},
      {"   ", 3, "found the end of the filter"},
      {"a =", 3, "expected a column or a value"},
      {"a = )", 4, "found ')'"},
      {"a = 1 b = 2", 6, "expected AND, OR or the end of the filter, found the column name \"b\""},
      {"a = 1 AND", 9, "expected a condition"},
      {"a = 1 OR OR b", 9, "found OR"},
      {"(a = 1", 6, "expected ')' to close the '(' at byte 0"},
      {"a = 1)", 5, "found ')'"},
      {"a = 'abc", 4, "unterminated string"},
      {"\"abc = 1", 0, "unterminated quoted column name"},
      {"\"\" = 1", 0, "empty quoted column name"},
      {"a = 1.", 6, "expected a digit after '.'"},
      {"a = .5", 4, "expected a digit before '.'"},
      {"a = -x", 4, "expected a digit after '-'"},
      {"a = 1e5", 5, "exponents are not supported"},
      {"a = 12abc", 6, "unexpected character after a number"},
      {"a = 1and b", 5, "unexpected character after a number"},
      {"a = $0", 4, "parameter numbers run from $1 to $100"},
      {"a = $101", 4, "parameter numbers run from $1 to $100"},
      {"a = $99999999999999999999999", 4, "parameter numbers run from"},
      {"a = $1x", 6, "unexpected character after a parameter"},
      {"a = $", 4, "expected a parameter ($1, $2, ...) or $claims.NAME"},
      {"a = $foo", 4, "expected a parameter"},
      {"a = $claims.", 12, "expected a claim name"},
      {"a = $claims.1", 12, "expected a claim name"},
      {"a ! 1", 2, "expected '=' after '!'"},
      {"a = 1; DROP TABLE x", 5, "unexpected character ';'"},
      {"a = 1 -- comment", 6, "expected a digit after '-'"},
      {"é = 1", 0, "must be double-quoted"},
      {"a == 1", 3, "found '='"},
      {"a NOT 1", 6, "expected IN or LIKE after NOT, found the number 1"},
      {"a IS 1", 5, "expected NULL after IS, found the number 1"},
      {"a IS NOT TRUE", 9, "expected NULL after IS NOT"},
      {"a IN 1", 5, "expected '(' after IN"},
      {"a IN ()", 6, "expected a value"},
      {"a IN (1 2)", 8, "expected ',' or ')' in the IN list"},
      {"a IN (1,)", 8, "expected a value"},
      {"a IN (b)", 6, "expected a value"},
      {"a = ANY $1", 8, "expected '(' after ANY"},
      {"a = ANY('{1,2}')", 8, "expected $n or $claims.NAME (an array) inside ANY(...)"},
      {"a = ANY($1", 10, "expected ')' after the array of ANY"},
      {"a < ANY($1)", 2, "only '= ANY(...)' is supported"},
      {"a LIKE b", 7, "expected a pattern"},
      {"a LIKE", 6, "expected a pattern"},
      {"AND", 0, "expected a condition"},
      {"a = NOT", 4, "found NOT"},
      {"a = ANY", 7, "expected '(' after ANY"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto e = parse_error(c.text);
    CHECK(e.code != filter_errc::too_long);
    CHECK(e.position == c.position);
    CHECK_THAT(e.message, Catch::Contains(c.message));
  }
  CHECK(parse_error("a < ANY($1)").code == filter_errc::unsupported);
  CHECK(parse_error("a = 'x").code == filter_errc::syntax);
}

TEST_CASE("filter parser: NUL bytes and invalid UTF-8 are refused", "[filter][parser]") {
  using namespace std::string_literals;
  auto nul = parse_error("a = 'x\0y'"s);
  CHECK(nul.position == 6);
  CHECK_THAT(nul.message, Catch::Contains("NUL"));
  auto bad = parse_error("a = 'x\xff'");
  CHECK(bad.position == 6);
  CHECK_THAT(bad.message, Catch::Contains("UTF-8"));
  CHECK(parse_error("a = '\xc3'").position == 5);              // truncated sequence
  CHECK(parse_error("a = '\xc0\xaf'").position == 5);          // overlong '/'
  CHECK(parse_error("a = '\xed\xa0\x80'").position == 5);      // a UTF-16 surrogate
  CHECK(parse_error("a = '\xf4\x90\x80\x80'").position == 5);  // beyond U+10FFFF
  CHECK(parsed("a = '\xf0\x9f\x98\x80'") == "(= col:a str:\xf0\x9f\x98\x80)");
}

TEST_CASE("filter parser: limits", "[filter][parser][limits]") {
  SECTION("text length") {
    filter_limits l;
    l.max_text_bytes = 10;
    CHECK(parsed("a = 123456", l) == "(= col:a num:123456)");
    auto e = parse_error("a = 1234567", l);
    CHECK(e.code == filter_errc::too_long);
    CHECK(e.position == 10);
    CHECK_THAT(e.message, Catch::Contains("11 bytes long; at most 10"));
    CHECK(parse_error(std::string(4097, ' ')).code == filter_errc::too_long);
    CHECK(parse_filter("a = '" + std::string(4000, 'x') + "'").has_value());
  }
  SECTION("nesting depth counts parentheses and NOTs") {
    filter_limits l;
    l.max_depth = 3;
    CHECK(parsed("(((a)))", l) == "(value col:a)");
    CHECK(parsed("NOT (NOT a)", l) == "(not (not (value col:a)))");
    auto e = parse_error("((( (a))))", l);
    CHECK(e.code == filter_errc::too_deep);
    CHECK(e.position == 4);
    CHECK_THAT(e.message, Catch::Contains("deeper than 3"));
    auto n = parse_error("NOT NOT NOT NOT a", l);
    CHECK(n.code == filter_errc::too_deep);
    CHECK(n.position == 12);
    CHECK(parse_error(std::string(40, '(') + "a" + std::string(40, ')')).code ==
          filter_errc::too_deep);
    CHECK(parse_filter(std::string(32, '(') + "a" + std::string(32, ')')).has_value());
  }
  SECTION("long AND/OR chains are not nesting") {
    std::string text = "a = 0";
    for (int i = 1; i < 300; ++i) text += (i % 2 ? " AND a = " : " OR a = ") + std::to_string(i);
    CHECK(parse_filter(text).has_value());
  }
  SECTION("IN list size") {
    filter_limits l;
    l.max_in_list = 3;
    CHECK(parsed("a IN (1,2,3)", l) == "(in col:a num:1 num:2 num:3)");
    auto e = parse_error("a IN (1,2,3,4)", l);
    CHECK(e.code == filter_errc::list_too_long);
    CHECK(e.position == 12);
    CHECK_THAT(e.message, Catch::Contains("at most 3 items"));
    std::string big = "a IN (0";
    for (int i = 1; i < 1000; ++i) big += "," + std::to_string(i);
    CHECK(parse_filter(big + ")").has_value());
    CHECK(parse_error(big + ",1000)").code == filter_errc::list_too_long);
  }
  SECTION("node count") {
    filter_limits l;
    l.max_nodes = 7;
    CHECK(parse_filter("a = 1 AND b = 2", l).has_value());  // and + 2 predicates + 4 operands
    auto e = parse_error("a = 1 AND b = 2 AND c", l);
    CHECK(e.code == filter_errc::too_many_nodes);
    CHECK(e.position == 20);
    CHECK_THAT(e.message, Catch::Contains("more than 7 terms"));
  }
  SECTION("parameter numbers") {
    filter_limits l;
    l.max_param = 2;
    CHECK(parse_filter("a = $2", l).has_value());
    auto e = parse_error("a = $3", l);
    CHECK(e.position == 4);
    CHECK_THAT(e.message, Catch::Contains("from $1 to $2"));
  }
}

TEST_CASE("filter lexer: tokens describe themselves for messages", "[filter][parser]") {
  filter_lexer lex("a <> 'x' $2 $claims.c ,", filter_limits{});
  std::vector<std::string> seen;
  for (;;) {
    auto t = lex.next();
    REQUIRE(t.has_value());
    seen.push_back(describe(*t));
    if (t->k == filter_token::kind::end) break;
  }
  CHECK(seen == std::vector<std::string>{"the column name \"a\"", "'<>'", "a string", "$2",
                                         "$claims.c", "','", "the end of the filter"});
}

TEST_CASE("filter errors have stable names and readable text", "[filter]") {
  CHECK(std::string(filter_errc_name(filter_errc::syntax)) == "filter_syntax");
  CHECK(std::string(filter_errc_name(filter_errc::unknown_column)) == "filter_unknown_column");
  boost::system::error_code ec = filter_errc::type_mismatch;
  CHECK(ec.category().name() == std::string("fieldsync.filter"));
  CHECK_FALSE(ec.message().empty());
  filter_error e{filter_errc::syntax, 12, "expected x"};
  CHECK(e.to_string() == "at byte 12: expected x");
}
