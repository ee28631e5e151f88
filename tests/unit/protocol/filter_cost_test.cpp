// What a filter may cost (issue 15, items 2 and 3): LIKE patterns are bounded and matched in
// one pass over the text, $n parameters count against the filter's limits, and a parameter
// used many times is converted and held once.

#include "protocol/filter/filter_like.hpp"
#include "tests/unit/protocol/filter_test_schema.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

namespace {

std::string json_string_array(std::size_t n, std::size_t bytes_each) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    std::string s = std::to_string(i);
    s.resize(bytes_each, 'x');
    out += '"' + s + '"';
  }
  return out + "]";
}

std::string json_int_array(std::size_t n) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + std::to_string(i);
  return out + "]";
}

// "c = ANY($1) OR c = ANY($1) OR ..." with `uses` uses, over int8 columns.
std::string any_uses(std::size_t uses) {
  std::string out;
  for (std::size_t i = 0; i < uses; ++i) out += std::string(i ? " OR " : "") + "rep_id = ANY($1)";
  return out;
}

// The reference: LIKE by its definition, over characters, by dynamic programming (O(text *
// pattern), fine for short inputs). Characters are bytes here; the tests keep to ASCII.
bool like_reference(const std::string& text, const std::string& pattern) {
  struct item {
    char c;
    bool literal;
  };
  std::vector<item> p;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      p.push_back({pattern[++i], true});
    } else {
      p.push_back({pattern[i], false});
    }
  }
  // m[j]: p[0..j) matches text[0..i)
  std::vector<char> m(p.size() + 1, 0), next(p.size() + 1, 0);
  m[0] = 1;
  for (std::size_t j = 0; j < p.size() && !p[j].literal && p[j].c == '%'; ++j) m[j + 1] = 1;
  for (char ch : text) {
    std::fill(next.begin(), next.end(), 0);
    for (std::size_t j = 1; j <= p.size(); ++j) {
      const item& it = p[j - 1];
      if (!it.literal && it.c == '%') {
        next[j] = m[j] || next[j - 1];
      } else if ((!it.literal && it.c == '_') || it.c == ch) {
        next[j] = m[j - 1];
      }
    }
    m.swap(next);
  }
  return m[p.size()] != 0;
}

}  // namespace

TEST_CASE("filter cost: LIKE agrees with its definition", "[filter][like][cost]") {
  std::mt19937 rng(15);
  const std::string pattern_chars = "ab%_\\";
  for (int round = 0; round < 20000; ++round) {
    std::string pattern, text;
    const auto plen = rng() % 9;
    for (std::size_t i = 0; i < plen; ++i) pattern += pattern_chars[rng() % pattern_chars.size()];
    if (like_pattern_error(pattern)) pattern += 'a';
    const auto tlen = rng() % 10;
    for (std::size_t i = 0; i < tlen; ++i) text += "ab%_"[rng() % 4];
    INFO("'" << text << "' LIKE '" << pattern << "'");
    const auto compiled = like_pattern::compile(pattern);
    REQUIRE(compiled);
    CHECK(compiled->match(text) == like_reference(text, pattern));
  }
}

TEST_CASE("filter cost: LIKE patterns longer than 64 characters", "[filter][like][cost]") {
  // More than one machine word of automaton state: the carry between words must hold.
  std::string pattern(100, '_');
  CHECK(like_match(std::string(100, 'x'), pattern));
  CHECK_FALSE(like_match(std::string(99, 'x'), pattern));
  CHECK_FALSE(like_match(std::string(101, 'x'), pattern));
  pattern = std::string(70, 'a') + "%" + std::string(70, 'b');
  CHECK(like_match(std::string(70, 'a') + "zz" + std::string(70, 'b'), pattern));
  CHECK(like_match(std::string(70, 'a') + std::string(70, 'b'), pattern));
  CHECK_FALSE(like_match(std::string(69, 'a') + "z" + std::string(70, 'b'), pattern));
  CHECK(like_match("日本語" + std::string(80, 'q'), "_本%" + std::string(80, '_')));
}

TEST_CASE("filter cost: a pathological pattern on a long text is answered in one pass",
          "[filter][like][cost]") {
  // '%a%a%a...%b' against 'aaaa...': a backtracking matcher takes O(text * pattern) steps per
  // row here (O(text^k) for naive recursion); the automaton reads the text once.
  std::string pattern;
  for (int i = 0; i < 120; ++i) pattern += "%a";
  pattern += "%b";
  REQUIRE(pattern.size() <= filter_limits{}.max_pattern_bytes);
  const std::string text(1 << 20, 'a');
  auto f =
      bind_ok("stage LIKE $1", "[" + boost::json::serialize(boost::json::value(pattern)) + "]");
  boost::json::object row;
  row["stage"] = text;
  CHECK(evaluate(f, row) == filter_truth::false_);
  row["stage"] = text + "b";
  CHECK(evaluate(f, row) == filter_truth::true_);
  CHECK_FALSE(like_match(text, "%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b"));
  CHECK(like_match(text, "%a_a_a_a_a_a_a_a_a_a%"));
}

TEST_CASE("filter cost: LIKE patterns are bounded, written or bound", "[filter][like][limits]") {
  const std::size_t max = filter_limits{}.max_pattern_bytes;
  const std::string ok(max, '%');
  const std::string too_long = ok + "a";
  auto json = [](const std::string& s) {
    return "[" + boost::json::serialize(boost::json::value(s)) + "]";
  };
  CHECK(matches(bind_ok("stage LIKE $1", json(ok)), obj(R"({"stage":"x"})")));
  auto e = error_of("stage LIKE $1", json(too_long));
  CHECK(e.code == filter_errc::too_large);
  CHECK(e.position == 11);
  CHECK_THAT(e.message, Catch::Contains("$1 has 257 bytes; a LIKE pattern has at most 256"));
  CHECK(std::string(filter_errc_name(e.code)) == "filter_too_large");

  // Written in the text, the same bound applies.
  e = error_of("stage LIKE '" + too_long + "'");
  CHECK(e.code == filter_errc::too_large);
  CHECK(e.position == 11);
  CHECK_THAT(e.message, Catch::Contains("the LIKE pattern has 257 bytes"));

  // With no column ($1 LIKE $2 folds at bind time) too.
  e = error_of("$1 LIKE $2", "[\"x\", " + json(too_long).substr(1));
  CHECK(e.code == filter_errc::too_large);

  filter_limits small;
  small.max_pattern_bytes = 4;
  e = error_of("stage LIKE $1", R"(["%abcd"])", "{}", small);
  CHECK(e.code == filter_errc::too_large);
}

TEST_CASE("filter cost: parameters count against the filter's limits", "[filter][limits]") {
  // Bytes of the parameters, each $n once.
  const std::string big(70000, 'x');
  auto e = error_of("stage = $1", "[\"" + big + "\"]");
  CHECK(e.code == filter_errc::too_large);
  CHECK(e.position == 8);
  CHECK_THAT(e.message, Catch::Contains("$1: the filter's parameters exceed 65536 bytes"));
  // Two parameters that fit alone but not together.
  const std::string half(40000, 'x');
  e = error_of("stage = $1 OR name = $2", "[\"" + half + "\", \"" + half + "\"]");
  CHECK(e.code == filter_errc::too_large);
  CHECK(e.position == 21);
  // One parameter named twice is counted once against max_param_bytes.
  auto f = bind_ok("stage = $1 OR name = $1", "[\"" + half + "\"]");
  CHECK(f.bound_bytes == 2 * (half.size() + 2));

  // Array elements count as nodes at every use, as a literal IN list's items do.
  const std::string thousand = json_int_array(1000);
  CHECK(bind_ok(any_uses(2), "[" + thousand + "]").root.k == bound_node::kind::or_);
  e = error_of(any_uses(3), "[" + thousand + "]");
  CHECK(e.code == filter_errc::too_many_nodes);
  CHECK_THAT(e.message, Catch::Contains("counting the elements of its arrays at each use"));
  CHECK(e.position == any_uses(3).rfind("$1"));

  // An ANY array over max_in_list is refused as before, whatever its uses.
  CHECK(error_of("rep_id = ANY($1)", "[" + json_int_array(1001) + "]").code ==
        filter_errc::list_too_long);

  // The limits come from the filter_limits the filter was prepared with.
  filter_limits small;
  small.max_param_bytes = 10;
  CHECK(error_of("stage = $1", R"(["0123456789"])", "{}", small).code == filter_errc::too_large);
  small = {};
  small.max_nodes = 50;
  CHECK(error_of("rep_id = ANY($1)", "[" + json_int_array(60) + "]", "{}", small).code ==
        filter_errc::too_many_nodes);
}

TEST_CASE("filter cost: one parameter used many times is converted and held once",
          "[filter][bind][sharing]") {
  // 1000 strings of 50 bytes, used twice: both tests hold the same list.
  const std::string params = "[" + json_string_array(1000, 50) + ", [1, 2, 3]]";
  auto f = bind_ok("stage = ANY($1) OR name = ANY($1) OR rep_id = ANY($2)", params);
  REQUIRE(f.root.k == bound_node::kind::or_);
  REQUIRE(f.root.children.size() == 3);
  const auto& a = f.root.children[0];
  const auto& b = f.root.children[1];
  const auto& c = f.root.children[2];
  CHECK(a.values.size() == 1000);
  CHECK(a.values.identity() == b.values.identity());
  CHECK(a.values.identity() != c.values.identity());
  CHECK(matches(f, obj(R"({"name":"999xxx"})")) == false);
  CHECK(matches(f, obj(R"({"name":")" + std::string("999") + std::string(47, 'x') + "\"}")));

  // A scalar parameter and a LIKE pattern are shared likewise.
  auto g = bind_ok("stage = $1 OR name = $1 OR stage LIKE $2 OR name LIKE $2", R"(["a", "b%"])");
  REQUIRE(g.root.children.size() == 4);
  CHECK(g.root.children[0].values.identity() == g.root.children[1].values.identity());
  CHECK(g.root.children[2].pattern == g.root.children[3].pattern);
  CHECK(g.root.children[2].pattern != nullptr);

  // Different domains convert separately (text and int8 read "1" differently).
  auto h = bind_ok("stage = ANY($1) OR rep_id = ANY($2) OR id = ANY($2)", R"([["1"], [1]])");
  CHECK(h.root.children[0].values.identity() != h.root.children[1].values.identity());
  CHECK(h.root.children[1].values.identity() == h.root.children[2].values.identity());

  // Compiled to SQL, the shared list is one bind parameter.
  sql_params out;
  const auto sql = compile_sql(
      f, [](const column_schema& col) { return quote_identifier(col.name); }, out);
  CHECK(out.values.size() == 2);
  CHECK(sql.find("$1::text[]") != sql.rfind("$1::text[]"));

  // The product of uses and size is bounded: a 60 KB parameter may be used a few times, not
  // twenty (each use would cost its size in a pull's SQL parameters and in index keys).
  const std::string big = "[\"" + std::string(60000, 'x') + "\"]";
  std::string twenty;
  for (int i = 0; i < 20; ++i) twenty += std::string(i ? " OR " : "") + "stage = $1";
  auto e = error_of(twenty, big);
  CHECK(e.code == filter_errc::too_large);
  CHECK_THAT(e.message, Catch::Contains("counted at each use, exceed 1048576 bytes"));
  CHECK(bind_ok("stage = $1 OR name = $1", big).bound_bytes == 2 * 60002);
}
