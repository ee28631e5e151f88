// Compiling bound filters to parameterised SQL: the exact text, the parameters, and that no
// filter text reaches the SQL.

#include "tests/unit/protocol/filter_test_schema.hpp"

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

namespace {

std::string table_column(const column_schema& c) {
  return quote_identifier(c.name);
}

struct compiled {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

compiled compile(std::string_view text, std::string_view params = "[]",
                 std::string_view claims = "{}", std::size_t offset = 0) {
  auto f = bind_ok(text, params, claims);
  sql_params out;
  out.offset = offset;
  compiled c;
  c.sql = compile_sql(f, table_column, out);
  c.params = out.values;
  return c;
}

std::vector<std::optional<std::string>> p(std::initializer_list<const char*> values) {
  std::vector<std::optional<std::string>> out;
  for (auto v : values) out.push_back(v ? std::optional<std::string>(v) : std::nullopt);
  return out;
}

}  // namespace

TEST_CASE("filter SQL: comparisons cast placeholders to the column's type", "[filter][sql]") {
  auto c = compile("rep_id = 5");
  CHECK(c.sql == "((\"rep_id\") = $1::int8)");
  CHECK(c.params == p({"5"}));
  CHECK(compile("territory_id <> 5").sql == "((\"territory_id\") <> $1::int4)");
  CHECK(compile("small >= -5").sql == "((\"small\") >= $1::int2)");
  CHECK(compile("amount > 10000").sql == "((\"amount\") > $1::numeric)");
  CHECK(compile("amount > 10000.50").params == p({"10000.5"}));
  CHECK(compile("probability < 0.5").sql == "((\"probability\") < $1::float8)");
  CHECK(compile("score = 0.1").sql == "((\"score\") = $1::float4)");
  CHECK(compile("won = true").sql == "((\"won\") = $1::bool)");
  CHECK(compile("won = true").params == p({"true"}));
  CHECK(compile("account_id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'").params ==
        p({"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}));
  CHECK(compile("account_id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'").sql ==
        "((\"account_id\") = $1::uuid)");
  auto ts = compile("visited_at >= $1", R"(["2026-11-25T12:00:00+01:00"])");
  CHECK(ts.sql == "((\"visited_at\") >= $1::timestamptz)");
  CHECK(ts.params == p({"2026-11-25 11:00:00.000000+00"}));
  CHECK(compile("local_at < '2026-11-25'").sql == "((\"local_at\") < $1::timestamp)");
  CHECK(compile("due = '2026-11-25'").sql == "((\"due\") = $1::date)");
  CHECK(compile("starts > '08:00'").sql == "((\"starts\") > $1::time)");
  CHECK(compile("code = 'ab  '").sql == "((\"code\") = $1::bpchar)");
  CHECK(compile("code = 'ab  '").params == p({"ab"}));
  CHECK(compile("\"Mixed Case\" = 'x'").sql == "((\"Mixed Case\") = $1::text)");
}

TEST_CASE("filter SQL: text ordering is byte order", "[filter][sql]") {
  CHECK(compile("stage < 'm'").sql == "((\"stage\") COLLATE \"C\" < $1::text)");
  CHECK(compile("code >= 'm'").sql == "((\"code\") COLLATE \"C\" >= $1::bpchar)");
  CHECK(compile("stage = 'm'").sql == "((\"stage\") = $1::text)");
  CHECK(compile("stage != 'm'").sql == "((\"stage\") <> $1::text)");
}

TEST_CASE("filter SQL: integer columns against values their type cannot hold", "[filter][sql]") {
  CHECK(compile("territory_id > 2.5").sql == "((\"territory_id\") > $1::numeric)");
  CHECK(compile("territory_id > 2.5").params == p({"2.5"}));
  CHECK(compile("territory_id = 3000000000").sql == "((\"territory_id\") = $1::numeric)");
  CHECK(compile("small = 40000").sql == "((\"small\") = $1::numeric)");
  CHECK(compile("rep_id = 99999999999999999999").sql == "((\"rep_id\") = $1::numeric)");
  CHECK(compile("rep_id = 3.0").sql == "((\"rep_id\") = $1::int8)");
  CHECK(compile("rep_id = 3.0").params == p({"3"}));
  CHECK(compile("territory_id IN (1, 2)").sql == "((\"territory_id\") = ANY($1::int4[]))");
  CHECK(compile("territory_id IN (1, 2.5)").sql == "((\"territory_id\") = ANY($1::numeric[]))");
  CHECK(compile("territory_id IN (1, 2.5)").params == p({"{\"1\",\"2.5\"}"}));
}

TEST_CASE("filter SQL: IN, ANY, IS NULL, LIKE, truth values", "[filter][sql]") {
  auto in = compile("stage IN ('proposal','negotiation')");
  CHECK(in.sql == "((\"stage\") = ANY($1::text[]))");
  CHECK(in.params == p({"{\"negotiation\",\"proposal\"}"}));
  auto not_in = compile("rep_id NOT IN (3, NULL, 1)");
  CHECK(not_in.sql == "(NOT ((\"rep_id\") = ANY($1::int8[])))");
  CHECK(not_in.params == p({"{\"1\",\"3\",NULL}"}));
  auto any = compile("territory_id = ANY($claims.territories)", "[]", R"({"territories":[7,3]})");
  CHECK(any.sql == "((\"territory_id\") = ANY($1::int4[]))");
  CHECK(any.params == p({"{\"3\",\"7\"}"}));
  CHECK(compile("account_id = ANY($1)", R"([["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"]])").sql ==
        "((\"account_id\") = ANY($1::uuid[]))");
  CHECK(compile("payload IS NULL").sql == "((\"payload\") IS NULL)");
  CHECK(compile("tags IS NOT NULL").sql == "((\"tags\") IS NOT NULL)");
  auto like = compile("stage LIKE 'pro%'");
  CHECK(like.sql == "((\"stage\") LIKE $1::text)");
  CHECK(like.params == p({"pro%"}));
  CHECK(compile("code NOT LIKE 'a\\_%'").sql == "((\"code\") NOT LIKE $1::text)");
  CHECK(compile("code NOT LIKE 'a\\_%'").params == p({"a\\_%"}));
  CHECK(compile("won").sql == "((\"won\"))");
  CHECK(compile("NOT won").sql == "(NOT ((\"won\")))");
}

TEST_CASE("filter SQL: boolean structure and constants", "[filter][sql]") {
  auto c = compile("stage IN ('proposal','negotiation') AND amount > 10000");
  CHECK(c.sql == "(((\"stage\") = ANY($1::text[])) AND ((\"amount\") > $2::numeric))");
  CHECK(c.params == p({"{\"negotiation\",\"proposal\"}", "10000"}));
  CHECK(compile("won OR NOT (lost AND rep_id = 1)").sql ==
        "(((\"won\")) OR (NOT (((\"lost\")) AND ((\"rep_id\") = $1::int8))))");
  CHECK(compile("TRUE").sql == "(TRUE)");
  CHECK(compile("rep_id = NULL").sql == "(NULL::boolean)");
  CHECK(compile("FALSE AND won").sql == "(FALSE)");
  CHECK(compile("won AND NULL").sql == "(((\"won\")) AND (NULL::boolean))");
  auto scope = "$claims.role = 'admin' OR territory_id = ANY($claims.territories)";
  CHECK(compile(scope, "[]", R"({"role":"admin"})").sql == "(TRUE)");
  CHECK(compile(scope, "[]", R"({"role":"rep","territories":[1]})").sql ==
        "((\"territory_id\") = ANY($1::int4[]))");
}

TEST_CASE("filter SQL: placeholders start after the caller's parameters", "[filter][sql]") {
  auto f = bind_ok("rep_id = $2 AND stage = $1", R"(["won", 7])");
  sql_params out;
  out.values = {std::string("caller")};
  const auto sql = compile_sql(f, table_column, out);
  CHECK(sql == "(((\"rep_id\") = $2::int8) AND ((\"stage\") = $3::text))");
  CHECK(out.values == p({"caller", "7", "won"}));

  sql_params offset;
  offset.offset = 4;
  CHECK(compile_sql(f, table_column, offset) ==
        "(((\"rep_id\") = $5::int8) AND ((\"stage\") = $6::text))");
}

TEST_CASE("filter SQL: a jsonb change-log row via the column callback", "[filter][sql]") {
  auto f = bind_ok("territory_id = ANY($claims.t) AND stage LIKE 'p%' AND payload IS NULL", "[]",
                   R"({"t":[1]})");
  std::vector<std::string> asked;
  const column_sql from_row = [&](const column_schema& c) {
    asked.push_back(c.name);
    if (c.type.cls == type_class::text) return "(\"row\"->>'" + c.name + "')";
    if (c.type.cls == type_class::json) return "(\"row\"->>'" + c.name + "')";
    return "(\"row\"->>'" + c.name + "')::" + std::string(c.type.name);
  };
  sql_params out;
  CHECK(compile_sql(f, from_row, out) ==
        "((((\"row\"->>'territory_id')::int4) = ANY($1::int4[])) AND "
        "(((\"row\"->>'stage')) LIKE $2::text) AND (((\"row\"->>'payload')) IS NULL))");
  CHECK(asked == std::vector<std::string>{"territory_id", "stage", "payload"});
}

TEST_CASE("filter SQL: no filter, parameter or claim text reaches the SQL", "[filter][sql]") {
  const std::string evil = "x'); DROP TABLE accounts; --";
  const auto quoted = "'" + std::string("x''); DROP TABLE accounts; --") + "'";
  for (const auto& text : {"stage = " + quoted, "stage IN (" + quoted + ", 'b')",
                           "stage LIKE " + quoted, std::string("stage = $1"),
                           std::string("stage = $claims.s"), std::string("stage = ANY($1)")}) {
    INFO(text);
    const bool any = text == "stage = ANY($1)";
    const std::string params = any ? "[[\"" + evil + "\", \"\\\"\\\\\"]]" : "[\"" + evil + "\"]";
    auto f = bind_ok(text, params, "{\"s\":\"" + evil + "\"}");
    sql_params out;
    const auto sql = compile_sql(f, table_column, out);
    CHECK(sql.find("DROP") == std::string::npos);
    CHECK(sql.find('\'') == std::string::npos);
    bool found = false;
    for (const auto& v : out.values)
      found = found || (v && v->find("DROP TABLE") != std::string::npos);
    CHECK(found);
  }
  // Array elements are quoted and escaped, so commas, braces, quotes and "NULL" stay data.
  auto arr = compile("stage = ANY($1)", R"([["a,b", "{c}", "\"q\"", "back\\slash", "NULL", ""]])");
  CHECK(arr.params == p({R"({"","\"q\"","NULL","a,b","back\\slash","{c}"})"}));
}

TEST_CASE("filter SQL: quote_identifier doubles quotes", "[filter][sql]") {
  CHECK(quote_identifier("a") == "\"a\"");
  CHECK(quote_identifier("we\"ird") == "\"we\"\"ird\"");
}
