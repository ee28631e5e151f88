#include "server/pull/changes_query.hpp"

#include "tests/unit/protocol/filter_test_schema.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;

namespace {

query_params q(std::string_view text) {
  auto p = parse_query(text);
  REQUIRE(p);
  return *p;
}

}  // namespace

TEST_CASE("query strings decode like URLSearchParams", "[pulls]") {
  auto p = q("where=stage+%3D+%27won%27&limit=5&&flag&empty=");
  REQUIRE(p.size() == 4);
  CHECK(p[0] == std::pair<std::string, std::string>{"where", "stage = 'won'"});
  CHECK(p[1].second == "5");
  CHECK(p[2] == std::pair<std::string, std::string>{"flag", ""});
  CHECK(*find_param(p, "empty") == "");
  CHECK(find_param(p, "none") == nullptr);
  CHECK_FALSE(parse_query("a=%zz"));
  CHECK_FALSE(parse_query("a=%4"));
}

TEST_CASE("changes query: defaults and every parameter", "[pulls]") {
  pull_limits limits;
  limits.default_limit = 100;
  limits.max_limit = 500;
  auto r = parse_changes_query(q(""), limits);
  REQUIRE(r.has_value());
  CHECK_FALSE(r->position);
  CHECK(r->limit == 100);
  CHECK_FALSE(r->live);
  CHECK_FALSE(r->where);

  r = parse_changes_query(
      q("cursor=5-000000000000ABCD&where=amount+%3E+%241&params=%5B10%5D&limit=500&live=true"),
      limits);
  REQUIRE(r.has_value());
  REQUIRE(r->position);
  CHECK(std::get<fieldsync::protocol::cursor>(*r->position).epoch == 5);
  CHECK(*r->where == "amount > $1");
  CHECK(r->params.size() == 1);
  CHECK(r->limit == 500);
  CHECK(r->live);

  // An empty cursor is no cursor.
  r = parse_changes_query(q("cursor="), limits);
  REQUIRE(r.has_value());
  CHECK_FALSE(r->position);
}

TEST_CASE("changes query: errors name the parameter", "[pulls]") {
  pull_limits limits;
  limits.max_limit = 500;
  auto fails = [&](std::string_view text, std::string code, std::string parameter) {
    CAPTURE(text);
    auto r = parse_changes_query(q(text), limits);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    CHECK(r.error().parameter == parameter);
    CHECK(r.error().message.find(parameter) != std::string::npos);
  };
  fails("cursor=nope", "bad_cursor", "cursor");
  fails("limit=0", "bad_limit", "limit");
  fails("limit=501", "bad_limit", "limit");
  fails("limit=12abc", "bad_limit", "limit");
  fails("limit=-1", "bad_limit", "limit");
  fails("live=maybe", "bad_live", "live");
  fails("where=a&params=%7B%7D", "bad_params", "params");
  fails("where=a&params=%5B", "bad_params", "params");
  fails("params=%5B1%5D", "bad_params", "params");
  fails("limit=1&limit=2", "bad_parameter", "limit");
  fails("colour=red", "unknown_parameter", "colour");
}

TEST_CASE("where binds against the collection with positions in errors", "[pulls]") {
  auto schema = fieldsync::protocol::test::opportunities();
  boost::json::object claims;
  boost::json::array params{10000};
  auto ok = bind_where(schema, "amount > $1", params, claims, {});
  REQUIRE(ok.has_value());
  auto bad = bind_where(schema, "amount > 1 AND regio = 'x'", {}, claims, {});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == "filter_unknown_column");
  CHECK(bad.error().parameter == "where");
  CHECK(bad.error().position == 15u);
  auto missing = bind_where(schema, "amount > $2", params, claims, {});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == "filter_missing_parameter");
}
