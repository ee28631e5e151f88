// Evaluating bound filters on rows: SQL's three-valued logic in full, NULLs in every
// operator, LIKE, and the row representations of protocol/value_json.hpp.

#include "protocol/filter/filter_like.hpp"

#include "tests/unit/protocol/filter_test_schema.hpp"

#include <array>

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

namespace {

using t = filter_truth;

const char* json_of(t v) {
  return v == t::true_ ? "true" : v == t::false_ ? "false" : "null";
}

std::string truth(std::string_view filter, const std::string& row, std::string_view params = "[]") {
  return truth_name(evaluate(bind_ok(filter, params), obj(row)));
}

// SQL's truth tables, written out rather than computed.
t sql_and(t a, t b) {
  if (a == t::false_ || b == t::false_) return t::false_;
  if (a == t::unknown || b == t::unknown) return t::unknown;
  return t::true_;
}
t sql_or(t a, t b) {
  if (a == t::true_ || b == t::true_) return t::true_;
  if (a == t::unknown || b == t::unknown) return t::unknown;
  return t::false_;
}
t sql_not(t a) {
  return a == t::unknown ? a : (a == t::true_ ? t::false_ : t::true_);
}

constexpr std::array<t, 3> all = {t::true_, t::false_, t::unknown};

}  // namespace

TEST_CASE("filter match: AND, OR, NOT truth tables on nullable columns", "[filter][match]") {
  const auto f_and = bind_ok("won AND lost");
  const auto f_or = bind_ok("won OR lost");
  const auto f_not = bind_ok("NOT won");
  const auto f_nand = bind_ok("NOT (won AND lost)");
  const auto f_nor = bind_ok("NOT won OR NOT lost");
  for (auto a : all) {
    for (auto b : all) {
      const std::string row =
          std::string(R"({"won":)") + json_of(a) + R"(,"lost":)" + json_of(b) + "}";
      INFO(row);
      CHECK(truth_name(evaluate(f_and, obj(row))) == std::string(truth_name(sql_and(a, b))));
      CHECK(truth_name(evaluate(f_or, obj(row))) == std::string(truth_name(sql_or(a, b))));
      CHECK(truth_name(evaluate(f_nand, obj(row))) ==
            std::string(truth_name(sql_not(sql_and(a, b)))));
      CHECK(truth_name(evaluate(f_nor, obj(row))) ==
            std::string(truth_name(sql_or(sql_not(a), sql_not(b)))));
    }
    const std::string row = std::string(R"({"won":)") + json_of(a) + "}";
    CHECK(truth_name(evaluate(f_not, obj(row))) == std::string(truth_name(sql_not(a))));
    CHECK(matches(f_not, obj(row)) == (a == t::false_));
  }
  // Three operands and mixed chains.
  for (auto a : all) {
    for (auto b : all) {
      for (auto c : all) {
        const std::string row = std::string(R"({"won":)") + json_of(a) + R"(,"lost":)" +
                                json_of(b) + R"(,"rep_id":)" +
                                (c == t::unknown ? "null"
                                 : c == t::true_ ? "1"
                                                 : "2") +
                                "}";
        INFO(row);
        CHECK(truth("won OR lost AND rep_id = 1", row) == truth_name(sql_or(a, sql_and(b, c))));
        CHECK(truth("(won OR lost) AND NOT rep_id = 1", row) ==
              truth_name(sql_and(sql_or(a, b), sql_not(c))));
      }
    }
  }
}

TEST_CASE("filter match: comparisons with NULL are UNKNOWN", "[filter][match]") {
  const std::string null_row = R"({"rep_id":null,"stage":null})";
  const std::string missing_row = R"({})";
  for (auto f : {"rep_id = 1", "rep_id <> 1", "rep_id < 1", "rep_id >= 1", "rep_id IN (1, 2)",
                 "rep_id NOT IN (1, 2)", "rep_id = ANY($1)", "stage LIKE '%'",
                 "stage NOT LIKE 'a%'", "NOT rep_id = 1", "NOT stage LIKE '%'"}) {
    INFO(f);
    CHECK(truth(f, null_row, "[[1]]") == "UNKNOWN");
    CHECK(truth(f, missing_row, "[[1]]") == "UNKNOWN");
  }
  CHECK(truth("rep_id IS NULL", null_row) == "TRUE");
  CHECK(truth("rep_id IS NULL", missing_row) == "TRUE");
  CHECK(truth("rep_id IS NOT NULL", null_row) == "FALSE");
  CHECK(truth("rep_id IS NULL", R"({"rep_id":0})") == "FALSE");
  CHECK(truth("payload IS NULL", R"({"payload":null})") == "TRUE");
  CHECK(truth("payload IS NULL", R"({"payload":{"a":null}})") == "FALSE");
  CHECK(truth("tags IS NOT NULL", R"({"tags":[]})") == "TRUE");
  CHECK(truth("rep_id = $1", R"({"rep_id":1})", "[null]") == "UNKNOWN");
}

TEST_CASE("filter match: IN and NOT IN with NULLs in the list", "[filter][match]") {
  const std::string one = R"({"rep_id":1})", three = R"({"rep_id":3})";
  CHECK(truth("rep_id IN (1, NULL)", one) == "TRUE");
  CHECK(truth("rep_id IN (1, NULL)", three) == "UNKNOWN");
  CHECK(truth("rep_id NOT IN (1, NULL)", one) == "FALSE");
  CHECK(truth("rep_id NOT IN (1, NULL)", three) == "UNKNOWN");
  CHECK(truth("rep_id NOT IN (1, 2)", three) == "TRUE");
  CHECK(truth("rep_id IN (2, 1, 2)", one) == "TRUE");
  CHECK(truth("rep_id = ANY($1)", three, "[[1, null]]") == "UNKNOWN");
  CHECK(truth("rep_id = ANY($1)", one, "[[1, null]]") == "TRUE");
  CHECK(truth("rep_id = ANY($1)", three, "[[1, 2]]") == "FALSE");
  CHECK(truth("rep_id IN (1.5, 3)", three) == "TRUE");
  CHECK(truth("rep_id IN (1.5, 2.5)", three) == "FALSE");
  // A long list is searched, not scanned; spot-check the ends.
  std::string big = "rep_id IN (0";
  for (int i = 1; i < 1000; ++i) big += "," + std::to_string(i * 3);
  big += ")";
  filter_limits l;
  l.max_text_bytes = 8000;
  auto checked = prepare_filter(big, opportunities(), l);
  REQUIRE(checked.has_value());
  auto f = bind_filter(*checked, {}, {});
  REQUIRE(f.has_value());
  CHECK(f->root.values.size() == 1000);
  CHECK(matches(*f, obj(R"({"rep_id":0})")));
  CHECK(matches(*f, obj(R"({"rep_id":2997})")));
  CHECK(matches(*f, obj(R"({"rep_id":1500})")));
  CHECK_FALSE(matches(*f, obj(R"({"rep_id":1501})")));
  CHECK_FALSE(matches(*f, obj(R"({"rep_id":3000})")));
  CHECK_FALSE(matches(*f, obj(R"({"rep_id":-3})")));
}

TEST_CASE("filter match: the comparison operators", "[filter][match]") {
  const std::string row = R"({"rep_id":5})";
  CHECK(truth("rep_id = 5", row) == "TRUE");
  CHECK(truth("rep_id != 5", row) == "FALSE");
  CHECK(truth("rep_id <> 4", row) == "TRUE");
  CHECK(truth("rep_id < 5", row) == "FALSE");
  CHECK(truth("rep_id <= 5", row) == "TRUE");
  CHECK(truth("rep_id > 4.99", row) == "TRUE");
  CHECK(truth("rep_id >= 5.01", row) == "FALSE");
  CHECK(truth("6 > rep_id", row) == "TRUE");
  CHECK(truth("5 >= rep_id AND 5 <= rep_id", row) == "TRUE");
  CHECK(truth("rep_id < 99999999999999999999", row) == "TRUE");
  CHECK(truth("rep_id > -99999999999999999999", row) == "TRUE");
}

TEST_CASE("filter match: values as value_json represents them", "[filter][match]") {
  SECTION("numeric as number or string") {
    const auto f = bind_ok("amount > 10000");
    CHECK(matches(f, obj(R"({"amount":10000.5})")));
    CHECK(matches(f, obj(R"({"amount":"10000.01"})")));
    CHECK(matches(f, obj(R"({"amount":"123456789012345678901234567890"})")));
    CHECK_FALSE(matches(f, obj(R"({"amount":"9999.999999999999999999"})")));
    CHECK_FALSE(matches(f, obj(R"({"amount":"10000.000"})")));
    CHECK(matches(f, obj(R"({"amount":"NaN"})")));  // NaN sorts above everything
    CHECK_FALSE(matches(f, obj(R"({"amount":"-Infinity"})")));
    CHECK(matches(bind_ok("amount = 12.5"), obj(R"({"amount":"12.50"})")));
    CHECK(matches(bind_ok("amount = 'NaN'"), obj(R"({"amount":"NaN"})")));
  }
  SECTION("timestamptz strings compare as instants") {
    const auto f = bind_ok("visited_at >= $1", R"(["2026-11-25T12:00:00+01:00"])");
    CHECK(matches(f, obj(R"({"visited_at":"2026-11-25T11:00:00Z"})")));
    CHECK(matches(f, obj(R"({"visited_at":"2026-11-25T11:04:51.123456Z"})")));
    CHECK_FALSE(matches(f, obj(R"({"visited_at":"2026-11-25T10:59:59.999999Z"})")));
    CHECK(matches(f, obj(R"({"visited_at":"infinity"})")));
    CHECK_FALSE(matches(f, obj(R"({"visited_at":"-infinity"})")));
    CHECK(evaluate(f, obj(R"({"visited_at":"not a time"})")) == filter_truth::unknown);
  }
  SECTION("uuids compare case-insensitively") {
    const auto f = bind_ok("account_id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'");
    CHECK(matches(f, obj(R"({"account_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})")));
    CHECK_FALSE(matches(f, obj(R"({"account_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"})")));
  }
  SECTION("dates, times, timestamps") {
    CHECK(matches(bind_ok("due < '2026-11-26'"), obj(R"({"due":"2026-11-25"})")));
    CHECK(matches(bind_ok("due > '0001-01-01 BC'"), obj(R"({"due":"0001-01-01"})")));
    CHECK(matches(bind_ok("starts >= '08:00'"), obj(R"({"starts":"08:00:00.5"})")));
    CHECK(matches(bind_ok("local_at = '2026-11-25 11:04:51.5'"),
                  obj(R"({"local_at":"2026-11-25T11:04:51.5"})")));
  }
  SECTION("floats") {
    CHECK(matches(bind_ok("probability > 0.5"), obj(R"({"probability":0.75})")));
    CHECK(matches(bind_ok("probability = 'NaN'"), obj(R"({"probability":"NaN"})")));
    CHECK(matches(bind_ok("probability > 0.5"), obj(R"({"probability":"Infinity"})")));
    CHECK_FALSE(matches(bind_ok("probability < 0.5"), obj(R"({"probability":"NaN"})")));
    CHECK(matches(bind_ok("score = 0.1"), obj(R"({"score":0.1})")));
  }
  SECTION("character(n) ignores trailing spaces, except under LIKE") {
    CHECK(matches(bind_ok("code = 'ab'"), obj(R"({"code":"ab  "})")));
    CHECK(matches(bind_ok("code = 'ab '"), obj(R"({"code":"ab  "})")));
    CHECK(matches(bind_ok("code IN ('x', 'ab')"), obj(R"({"code":"ab  "})")));
    CHECK_FALSE(matches(bind_ok("code LIKE 'ab'"), obj(R"({"code":"ab  "})")));
    CHECK(matches(bind_ok("code LIKE 'ab%'"), obj(R"({"code":"ab  "})")));
    CHECK_FALSE(matches(bind_ok("stage = 'ab'"), obj(R"({"stage":"ab  "})")));
  }
  SECTION("text compares by bytes") {
    CHECK(matches(bind_ok("stage < 'a'"), obj(R"({"stage":"Z"})")));
    CHECK(matches(bind_ok("stage > 'z'"), obj(R"({"stage":"é"})")));
    CHECK_FALSE(matches(bind_ok("stage = 'Won'"), obj(R"({"stage":"won"})")));
  }
  SECTION("values of the wrong kind read as NULL") {
    CHECK(evaluate(bind_ok("rep_id = 1"), obj(R"({"rep_id":"x"})")) == filter_truth::unknown);
    CHECK(evaluate(bind_ok("rep_id = 1"), obj(R"({"rep_id":1.5})")) == filter_truth::false_);
    // A decimal string is read as its number, as ("row"->>'rep_id')::int8 would.
    CHECK(evaluate(bind_ok("rep_id = 1"), obj(R"({"rep_id":"1"})")) == filter_truth::true_);
    CHECK(evaluate(bind_ok("won"), obj(R"({"won":1})")) == filter_truth::unknown);
    CHECK(evaluate(bind_ok("stage = 'a'"), obj(R"({"stage":["a"]})")) == filter_truth::unknown);
    CHECK(evaluate(bind_ok("stage LIKE 'a'"), obj(R"({"stage":{"a":1}})")) ==
          filter_truth::unknown);
    CHECK(evaluate(bind_ok("rep_id IS NULL"), obj(R"({"rep_id":"x"})")) == filter_truth::false_);
  }
  SECTION("the field-sales examples") {
    const auto claims = R"({"territories":[3,7],"rep_id":42})";
    const auto scope = bind_ok("territory_id = ANY($claims.territories)", "[]", claims);
    CHECK(matches(scope, obj(R"({"territory_id":7})")));
    CHECK_FALSE(matches(scope, obj(R"({"territory_id":8})")));
    const auto mine = bind_ok("rep_id = $claims.rep_id", "[]", claims);
    CHECK(matches(mine, obj(R"({"rep_id":42})")));
    const auto pipeline = bind_ok("stage IN ('proposal','negotiation') AND amount > 10000");
    CHECK(matches(pipeline, obj(R"({"stage":"proposal","amount":"25000.00"})")));
    CHECK_FALSE(matches(pipeline, obj(R"({"stage":"closed","amount":"25000.00"})")));
    CHECK_FALSE(matches(pipeline, obj(R"({"stage":"proposal","amount":9000})")));
    const auto recent = bind_ok("visited_at >= $1", R"(["2026-11-01T00:00:00Z"])");
    CHECK(matches(recent, obj(R"({"visited_at":"2026-11-25T11:04:51.123456Z"})")));
  }
}

TEST_CASE("filter LIKE: wildcards, escapes, characters", "[filter][match][like]") {
  struct like_case {
    const char* text;
    const char* pattern;
    bool expected;
  };
  const like_case cases[] = {
      {"", "", true},
      {"", "%", true},
      {"", "_", false},
      {"a", "", false},
      {"abc", "abc", true},
      {"abc", "ABC", false},
      {"abc", "a%", true},
      {"abc", "%c", true},
      {"abc", "%b%", true},
      {"abc", "%%%", true},
      {"abc", "a%%c", true},
      {"abc", "a_c", true},
      {"abc", "a__c", false},
      {"abc", "___", true},
      {"abc", "__", false},
      {"abc", "____", false},
      {"abc", "%_", true},
      {"abc", "_%_%_", true},
      {"ab", "_%_%_", false},
      {"aXbXc", "%X%X%", true},
      {"aXbc", "%X%X%", false},
      {"mississippi", "%iss%pi", true},
      {"mississippi", "%iss%ppx", false},
      {"mississippi", "m%ss%ss%", true},
      {"100%", "100\\%", true},
      {"1000", "100\\%", false},
      {"a_b", "a\\_b", true},
      {"axb", "a\\_b", false},
      {"a\\b", "a\\\\b", true},
      {"ab", "a\\b", true},  // an escaped ordinary character is itself
      {"a%", "%\\%", true},
      {"é", "_", true},  // one character, two bytes
      {"éé", "_", false},
      {"éa", "__", true},
      {"日本語", "_本_", true},
      {"日本語", "%語", true},
      {"😀x", "_x", true},
      {"é", "\\é", true},
      {"aé", "a\\é", true},
      {"abcabcabd", "%abd", true},
      {"abcabcabd", "%abc", false},
  };
  for (const auto& c : cases) {
    INFO("'" << c.text << "' LIKE '" << c.pattern << "'");
    REQUIRE_FALSE(like_pattern_error(c.pattern));
    CHECK(like_match(c.text, c.pattern) == c.expected);
  }
  CHECK(like_pattern_error("abc\\") == 3u);
  CHECK(like_pattern_error("\\") == 0u);
  CHECK_FALSE(like_pattern_error("abc\\\\"));
  CHECK(like_pattern_error("abc\\\\\\") == 5u);
  CHECK_FALSE(like_pattern_error("\\é"));

  // Through a filter, with NOT LIKE and NULLs.
  CHECK(truth("stage LIKE 'pro%'", R"({"stage":"proposal"})") == "TRUE");
  CHECK(truth("stage NOT LIKE 'pro%'", R"({"stage":"proposal"})") == "FALSE");
  CHECK(truth("stage NOT LIKE 'x%'", R"({"stage":"proposal"})") == "TRUE");
  CHECK(truth("name LIKE $1", R"({"name":"50% off"})", R"(["50\\% %"])") == "TRUE");
  // A pathological pattern stays polynomial.
  const std::string text(3000, 'a');
  CHECK_FALSE(like_match(text, "%a%a%a%a%a%a%a%a%a%a%b"));
}
