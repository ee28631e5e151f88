// Type checking filters against a collection's columns.

#include "tests/unit/protocol/filter_test_schema.hpp"

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

namespace {

filter_error check_error(std::string_view text) {
  auto checked = prepare_filter(text, opportunities());
  INFO(text);
  REQUIRE_FALSE(checked.has_value());
  return checked.error();
}

void check_ok(std::string_view text) {
  auto checked = prepare_filter(text, opportunities());
  INFO(text);
  if (!checked) FAIL(checked.error().to_string());
}

}  // namespace

TEST_CASE("filter check: unknown columns are named", "[filter][check]") {
  auto e = check_error("rep_id = 1 AND regio = 'x'");
  CHECK(e.code == filter_errc::unknown_column);
  CHECK(e.position == 15);
  CHECK(e.message == "unknown column \"regio\" in collection \"opportunities\"");
  CHECK(check_error("\"Stage\" = 'x'").code == filter_errc::unknown_column);
  CHECK(check_error("mixed case = 1").code == filter_errc::syntax);
  check_ok("\"Mixed Case\" = 'x'");
  check_ok("STAGE = 'x'");  // unquoted names fold to lower case
  CHECK(check_error("x IS NULL").code == filter_errc::unknown_column);
  CHECK(check_error("x LIKE 'a'").code == filter_errc::unknown_column);
  CHECK(check_error("1 IN (2) OR x = ANY($1)").position == 12);
}

TEST_CASE("filter check: literals must fit the column", "[filter][check]") {
  struct bad_case {
    const char* text;
    std::size_t position;
    filter_errc code;
    const char* message;
  };
  const bad_case cases[] = {
      {"stage = 1", 8, filter_errc::type_mismatch,
       "column \"stage\" (text): a text column does not compare with numbers"},
      {"stage = true", 8, filter_errc::type_mismatch, "does not compare with TRUE"},
      {"rep_id = '5'", 9, filter_errc::type_mismatch,
       "column \"rep_id\" (int8): a integer column does not compare with strings"},
      {"won = 'true'", 6, filter_errc::type_mismatch,
       "boolean column does not compare with strings"},
      {"won = 1", 6, filter_errc::type_mismatch, "does not compare with numbers"},
      {"amount = true", 9, filter_errc::type_mismatch, "does not compare with TRUE"},
      {"amount = 'lots'", 9, filter_errc::bad_value, "\"lots\" is not a number"},
      {"probability = 'high'", 14, filter_errc::type_mismatch, "not strings"},
      {"account_id = 'nope'", 13, filter_errc::bad_value, "\"nope\" is not a uuid"},
      {"account_id = 5", 13, filter_errc::type_mismatch, "does not compare with numbers"},
      {"visited_at >= 'yesterday'", 14, filter_errc::bad_value, "is not a valid timestamptz"},
      {"due < '2026-02-30'", 6, filter_errc::bad_value, "is not a valid date"},
      {"due < 20260101", 6, filter_errc::type_mismatch, "does not compare with numbers"},
      {"score > 1e", 9, filter_errc::syntax, "exponents"},
      {"rep_id IN (1, 'two', 3)", 14, filter_errc::type_mismatch, "does not compare with strings"},
      {"5 = rep_id AND 'x' = stage AND 1 = stage", 31, filter_errc::type_mismatch,
       "column \"stage\""},
      {"1 = 'a'", 4, filter_errc::type_mismatch, "cannot compare a number with a string"},
      {"true IN (true, 1)", 15, filter_errc::type_mismatch,
       "cannot compare a boolean with a number"},
      {"rep_id = id", 9, filter_errc::unsupported, "comparing two columns is not supported"},
      {"payload = 'x'", 0, filter_errc::unsupported,
       "column \"payload\" (jsonb) can only be tested with IS NULL or IS NOT NULL"},
      {"tags = ANY($1)", 0, filter_errc::unsupported, "can only be tested with IS NULL"},
      {"'a' IN ('b') OR span > 'P1D'", 16, filter_errc::unsupported, "(interval)"},
      {"tags IN ('a')", 0, filter_errc::unsupported, "(text[])"},
      {"amount LIKE '1%'", 7, filter_errc::unsupported,
       "LIKE needs a text column; \"amount\" is numeric"},
      {"account_id NOT LIKE 'a%'", 15, filter_errc::unsupported, "LIKE needs a text column"},
      {"stage LIKE 5", 11, filter_errc::type_mismatch, "a LIKE pattern is a string, not a number"},
      {"stage LIKE 'abc\\'", 11, filter_errc::bad_value, "must not end with an escape character"},
      {"5 LIKE 'a'", 0, filter_errc::type_mismatch, "LIKE needs a string on its left"},
      {"rep_id", 0, filter_errc::type_mismatch, "column \"rep_id\" (int8) is not boolean"},
      {"won AND 'yes'", 8, filter_errc::type_mismatch, "expected a condition, found a string"},
      {"5", 0, filter_errc::type_mismatch, "found a number"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto e = check_error(c.text);
    CHECK(e.code == c.code);
    CHECK(e.position == c.position);
    CHECK_THAT(e.message, Catch::Contains(c.message));
  }
}

TEST_CASE("filter check: what is allowed", "[filter][check]") {
  for (auto ok : {"rep_id = 5",
                  "rep_id = -5",
                  "rep_id > 2.5",
                  "rep_id = 99999999999999999999",
                  "territory_id = NULL",
                  "stage = 'x' AND stage <> ''",
                  "stage < 'm'",
                  "code = 'ab'",
                  "code LIKE 'a%'",
                  "name LIKE '%\\%%'",
                  "amount > 10000",
                  "amount = '12.50'",
                  "amount = 'NaN'",
                  "probability = 'NaN'",
                  "score >= 0.5",
                  "won",
                  "NOT won",
                  "won = false",
                  "won < true",
                  "won IS NULL",
                  "won = $1",
                  "account_id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
                  "account_id > $1",
                  "visited_at >= '2026-11-25T11:04:51Z'",
                  "visited_at < '2026-11-25'",
                  "local_at = '2026-11-25 10:00'",
                  "due BETWEEN_IS_NOT_SUPPORTED IS NULL",
                  "starts >= '08:00'",
                  "payload IS NOT NULL",
                  "tags IS NULL",
                  "span IS NULL",
                  "rep_id = $claims.rep_id",
                  "territory_id = ANY($claims.territories)",
                  "$claims.role = 'admin' OR territory_id = ANY($claims.territories)",
                  "'x' = 'y'",
                  "1 < 2.5",
                  "NULL = 1",
                  "NULL",
                  "TRUE",
                  "$1",
                  "$claims.admin",
                  "stage IN ('proposal', 'negotiation', NULL, $1, $claims.s)",
                  "stage LIKE $1",
                  "stage LIKE NULL",
                  "NULL LIKE 'a'",
                  "$1 LIKE $2",
                  "10000 < amount",
                  "'2026-01-01' <= due"}) {
    if (std::string_view(ok).find("BETWEEN") != std::string_view::npos) continue;
    check_ok(ok);
  }
}

TEST_CASE("filter check: columns read, and the column moves to the left", "[filter][check]") {
  auto checked = prepare_filter(
      "10000 < amount AND (stage = 'x' OR amount IS NULL) AND NOT won AND $1 = territory_id",
      opportunities());
  REQUIRE(checked.has_value());
  std::vector<std::string> names;
  for (const auto& c : checked->columns) names.push_back(c.name);
  CHECK(names == std::vector<std::string>{"amount", "stage", "won", "territory_id"});
  const auto& first = checked->ast.root.children[0];
  CHECK(first.operands[0].is_column());
  CHECK(first.operands[0].column == 0);
  CHECK(first.op == filter_op::gt);
  CHECK(checked->ast.root.children[3].operands[0].text == "territory_id");
  CHECK(checked->collection == "opportunities");
}
