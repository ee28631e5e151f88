// The equality tests the fan-out hub indexes subscriptions by.

#include "tests/unit/protocol/filter_test_schema.hpp"

#include <algorithm>

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

namespace {

std::string dump(const std::vector<equality_constraint>& cs) {
  std::string out;
  for (const auto& c : cs) {
    out += c.column + "{";
    for (std::size_t i = 0; i < c.keys.size(); ++i) out += (i ? "," : "") + c.keys[i];
    out += "} ";
  }
  return out;
}

std::string constraints(std::string_view text, std::string_view params = "[]",
                        std::string_view claims = "{}") {
  return dump(equality_constraints(bind_ok(text, params, claims)));
}

column_type type_of(const char* column) {
  return opportunities().find(column)->type;
}

}  // namespace

TEST_CASE("filter constraints: indexable shapes at the top of an AND chain",
          "[filter][constraints]") {
  CHECK(constraints("rep_id = 5") == "rep_id{5} ");
  CHECK(constraints("5 = rep_id") == "rep_id{5} ");
  CHECK(constraints("rep_id = $1", "[5]") == "rep_id{5} ");
  CHECK(constraints("rep_id = $claims.rep_id", "[]", R"({"rep_id":42})") == "rep_id{42} ");
  CHECK(constraints("stage IN ('proposal','negotiation') AND amount > 10000") ==
        "stage{negotiation,proposal} ");
  CHECK(constraints("territory_id = ANY($claims.territories) AND rep_id = 1", "[]",
                    R"({"territories":[3,1,3]})") == "territory_id{1,3} rep_id{1} ");
  CHECK(constraints("won AND stage = 'x'") == "won{true} stage{x} ");
  CHECK(constraints("amount = '12.50'") == "amount{12.5} ");
  CHECK(constraints("account_id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'") ==
        "account_id{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11} ");
  CHECK(constraints("rep_id IN (1, NULL)") == "rep_id{1} ");
  // The scope of a non-admin folds to its ANY test, which is indexable.
  CHECK(constraints("$claims.role = 'admin' OR territory_id = ANY($claims.t)", "[]",
                    R"({"role":"rep","t":[9]})") == "territory_id{9} ");
}

TEST_CASE("filter constraints: shapes that give none", "[filter][constraints]") {
  for (auto f : {"rep_id <> 5", "rep_id > 5", "rep_id NOT IN (1, 2)", "stage LIKE 'a%'",
                 "rep_id = 1 OR rep_id = 2", "NOT rep_id = 1", "NOT won", "rep_id IS NULL",
                 "(rep_id = 1 OR stage = 'x') AND amount > 5", "TRUE", "FALSE", "rep_id = NULL"}) {
    INFO(f);
    CHECK(constraints(f).empty());
  }
}

TEST_CASE("filter constraints: row keys match constraint keys across spellings",
          "[filter][constraints]") {
  auto key = [](const char* column, std::string_view json) {
    return equality_key(type_of(column), boost::json::parse(json));
  };
  CHECK(key("rep_id", "5") == "5");
  CHECK(key("amount", "\"12.50\"") == "12.5");
  CHECK(key("amount", "12.5") == "12.5");
  CHECK(key("account_id", "\"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\"") ==
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(key("visited_at", "\"2026-11-25T12:00:00+01:00\"") ==
        key("visited_at", "\"2026-11-25T11:00:00.000000Z\""));
  auto ts = equality_constraints(bind_ok("visited_at = '2026-11-25T11:00:00Z'"));
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].keys == std::vector<std::string>{*key("visited_at", "\"2026-11-25T11:00:00Z\"")});
  CHECK(key("code", "\"ab  \"") == "ab");
  CHECK(key("won", "true") == "true");
  CHECK_FALSE(key("rep_id", "null"));
  CHECK_FALSE(key("rep_id", "\"x\""));
  CHECK_FALSE(key("payload", "{\"a\":1}"));
  CHECK_FALSE(key("tags", "[\"a\"]"));
  // A row matches only if its key is in the constraint: check against evaluation.
  const auto f = bind_ok("amount IN (1.5, 2) AND rep_id = 7");
  const auto cs = equality_constraints(f);
  for (auto amount : {"1.5", "\"1.50\"", "2", "\"2.0\"", "3", "\"1.4\""}) {
    const auto row = boost::json::parse(std::string(R"({"rep_id":7,"amount":)") + amount + "}");
    const auto k = equality_key(type_of("amount"), row.at("amount"));
    const bool indexed =
        k && std::find(cs[0].keys.begin(), cs[0].keys.end(), *k) != cs[0].keys.end();
    INFO(amount);
    CHECK(indexed == matches(f, row.as_object()));
  }
}
