// Hostile input through every stage: mutated and random filters, parameters and rows must
// give results or errors, never crashes, hangs or sanitizer reports (run under ASan/UBSan).

#include "tests/unit/protocol/filter_test_schema.hpp"

#include <random>

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

namespace {

const char* const seeds[] = {
    "territory_id = ANY($claims.territories)",
    "rep_id = $claims.rep_id",
    "stage IN ('proposal','negotiation') AND amount > 10000",
    "visited_at >= $1",
    "NOT (won OR lost) AND code LIKE 'a\\%%' AND account_id <> "
    "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
    "(due < '2026-11-25' OR starts >= '08:00') AND \"Mixed Case\" IS NOT NULL AND payload IS NULL",
    "score > 0.5 OR probability = 'NaN' OR small IN (1, 2, NULL) OR $2 LIKE $1",
};

const char alphabet[] = "()'\",$=<>!-._%\\ 0123456789abcdeANDORNOTINISLIKEANYnulltrue\xc3\xa9\xff";

}  // namespace

TEST_CASE("filter robustness: mutated filters never crash any stage", "[filter][robustness]") {
  std::mt19937_64 rng(7);
  const auto schema = opportunities();
  const auto params = arr(R"(["proposal", 5, [1, 2], null, "2026-11-25T11:04:51Z", {"a": 1}])");
  const auto claims = obj(R"({"territories": [1, 2], "rep_id": 42, "x": "y"})");
  const auto row =
      obj(R"({"rep_id": 42, "territory_id": 2, "stage": "proposal", "amount": "12000.5",
                           "won": true, "code": "a%b ", "visited_at": "2026-11-25T11:04:51Z",
                           "score": "NaN", "due": "garbage", "account_id": 5})");
  std::size_t parsed = 0, bound = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[rng() % std::size(seeds)];
    for (std::size_t m = 0, n = 1 + rng() % 4; m < n && !text.empty(); ++m) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text.erase(at, 1 + rng() % 3);
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]);
          break;
        case 2:
          text[at] = alphabet[rng() % (sizeof alphabet - 1)];
          break;
        default:
          text.insert(at, text.substr(rng() % text.size(), rng() % 8));
          break;
      }
    }
    auto checked = prepare_filter(text, schema);
    if (!checked) {
      CHECK(checked.error().position <= text.size());
      continue;
    }
    ++parsed;
    auto b = bind_filter(*checked, params, claims);
    if (!b) {
      CHECK(b.error().position <= text.size());
      continue;
    }
    ++bound;
    (void)evaluate(*b, row);
    sql_params out;
    const auto sql = compile_sql(
        *b, [](const column_schema& c) { return quote_identifier(c.name); }, out);
    CHECK(sql.front() == '(');
    CHECK(sql.back() == ')');
    (void)equality_constraints(*b);
  }
  // The mutations must leave enough valid filters to exercise the later stages.
  CHECK(parsed > 800);
  CHECK(bound > 400);
}

TEST_CASE("filter robustness: random bytes", "[filter][robustness]") {
  std::mt19937_64 rng(11);
  const auto schema = opportunities();
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 64, '\0');
    for (auto& c : text)
      c = static_cast<char>(rng() % 2 ? alphabet[rng() % (sizeof alphabet - 1)] : rng());
    auto checked = prepare_filter(text, schema);
    if (!checked) CHECK(checked.error().position <= text.size());
  }
}

TEST_CASE("filter robustness: deep nesting within the limit is fine", "[filter][robustness]") {
  std::string text;
  for (int i = 0; i < 16; ++i) text += "NOT (";
  text += "won";
  for (int i = 0; i < 16; ++i) text += ")";
  const auto f = bind_ok(text);
  CHECK(matches(f, obj(R"({"won": true})")));
}
