// Binding $n parameters and $claims, and folding what no longer depends on a row.

#include "tests/unit/protocol/filter_test_schema.hpp"

using namespace fieldsync::protocol;
using namespace fieldsync::protocol::test;

TEST_CASE("filter bind: parameters", "[filter][bind]") {
  auto f = bind_ok("rep_id = $1 AND stage = $2", R"([7, "won"])");
  CHECK(matches(f, obj(R"({"rep_id":7,"stage":"won"})")));
  CHECK_FALSE(matches(f, obj(R"({"rep_id":8,"stage":"won"})")));

  auto missing = error_of("rep_id = $1 AND stage = $3", R"([7, "won"])");
  CHECK(missing.code == filter_errc::missing_parameter);
  CHECK(missing.position == 24);
  CHECK(missing.message == "$3 is not supplied (2 parameters given)");
  CHECK(error_of("rep_id = $1", "[]").message == "$1 is not supplied (0 parameters given)");

  // Unused extra parameters are fine.
  CHECK(matches(bind_ok("rep_id = $1", "[7, 8, 9]"), obj(R"({"rep_id":7})")));

  struct bad_case {
    const char* text;
    const char* params;
    std::size_t position;
    filter_errc code;
    const char* message;
  };
  const bad_case cases[] = {
      {"rep_id = $1", R"(["7"])", 9, filter_errc::type_mismatch,
       "column \"rep_id\" (int8): $1: a integer column does not compare with strings"},
      {"stage = $1", "[7]", 8, filter_errc::type_mismatch,
       "$1: a text column does not compare with numbers"},
      {"stage = $1", R"([["a"]])", 8, filter_errc::type_mismatch, "not a JSON array or object"},
      {"stage = $1", R"([{"a":1}])", 8, filter_errc::type_mismatch, "not a JSON array or object"},
      {"won = $1", R"(["yes"])", 6, filter_errc::type_mismatch, "does not compare with strings"},
      {"account_id = $1", R"(["x"])", 13, filter_errc::bad_value, "\"x\" is not a uuid"},
      {"visited_at >= $1", R"(["soon"])", 14, filter_errc::bad_value, "not a valid timestamptz"},
      {"stage = $1", R"(["a\u0000b"])", 8, filter_errc::bad_value, "NUL"},
      {"stage LIKE $1", R"(["ab\\"])", 11, filter_errc::bad_value, "escape character"},
      {"stage LIKE $1", "[5]", 11, filter_errc::type_mismatch, "LIKE pattern: $1"},
      {"stage IN ('a', $1)", "[5]", 15, filter_errc::type_mismatch, "$1: a text column"},
      {"$1", R"(["true"])", 0, filter_errc::type_mismatch, "condition: $1"},
      {"$1 = 'a'", "[1]", 5, filter_errc::type_mismatch,
       "cannot compare a numeric value with a text value"},
      {"$1 = $2", R"([1, [1]])", 5, filter_errc::type_mismatch, "$2: expected a single value"},
      {"$1 IN (1, 2)", R"(["1"])", 7, filter_errc::type_mismatch, "cannot compare a text value"},
      {"$1 LIKE 'a'", "[1]", 0, filter_errc::type_mismatch, "LIKE: $1"},
  };
  for (const auto& c : cases) {
    INFO(c.text << " with " << c.params);
    auto e = error_of(c.text, c.params);
    CHECK(e.code == c.code);
    CHECK(e.position == c.position);
    CHECK_THAT(e.message, Catch::Contains(c.message));
  }
}

TEST_CASE("filter bind: numeric parameters may be decimal strings", "[filter][bind]") {
  auto f = bind_ok("amount = $1", R"(["12.50"])");
  CHECK(matches(f, obj(R"({"amount":12.5})")));
  CHECK(matches(f, obj(R"({"amount":"12.5000"})")));
  CHECK_FALSE(matches(f, obj(R"({"amount":"12.51"})")));
  CHECK(error_of("amount = $1", R"(["12,5"])").code == filter_errc::bad_value);
}

TEST_CASE("filter bind: claims", "[filter][bind]") {
  const auto claims = R"({"rep_id": 42, "territories": [1, 2, 3], "role": "rep",
                          "email": "ann@acme.com", "admin": false, "name": null})";
  auto f =
      bind_ok("rep_id = $claims.rep_id AND territory_id = ANY($claims.territories)", "[]", claims);
  CHECK(matches(f, obj(R"({"rep_id":42,"territory_id":2})")));
  CHECK_FALSE(matches(f, obj(R"({"rep_id":42,"territory_id":4})")));
  CHECK_FALSE(matches(f, obj(R"({"rep_id":41,"territory_id":2})")));

  // An absent claim is NULL: comparisons with it are never TRUE.
  auto absent = bind_ok("rep_id = $claims.nobody", "[]", claims);
  REQUIRE(absent.constant());
  CHECK(*absent.constant() == filter_truth::unknown);
  CHECK(*bind_ok("$claims.nobody IS NULL", "[]", claims).constant() == filter_truth::true_);
  CHECK(*bind_ok("$claims.name IS NOT NULL", "[]", claims).constant() == filter_truth::false_);
  CHECK(*bind_ok("territory_id = ANY($claims.nobody)", "[]", claims).constant() ==
        filter_truth::unknown);

  auto e = error_of("territory_id = ANY($claims.role)", "[]", claims);
  CHECK(e.code == filter_errc::type_mismatch);
  CHECK(e.position == 19);
  CHECK(e.message == "ANY needs an array; $claims.role is not one");
  auto elem = error_of("territory_id = ANY($claims.x)", "[]", R"({"x":[1,"2"]})");
  CHECK(elem.code == filter_errc::type_mismatch);
  CHECK_THAT(elem.message, Catch::Contains("$claims.x: element 2: a integer column"));
  CHECK(error_of("territory_id = ANY($claims.x)", "[]", R"({"x":[[1]]})").code ==
        filter_errc::type_mismatch);
  CHECK(error_of("rep_id = $claims.territories", "[]", claims).code == filter_errc::type_mismatch);
}

TEST_CASE("filter bind: ANY arrays", "[filter][bind]") {
  auto f = bind_ok("stage = ANY($1)", R"([["won", "lost", null, "won"]])");
  CHECK(f.root.k == bound_node::kind::in_set);
  CHECK(f.root.values.size() == 2);
  CHECK(f.root.set_has_null);
  // x = ANY('{}') is FALSE even when x is NULL.
  CHECK(*bind_ok("stage = ANY($1)", "[[]]").constant() == filter_truth::false_);
  CHECK(*bind_ok("NULL = ANY($1)", "[[]]").constant() == filter_truth::false_);
  CHECK(*bind_ok("stage = ANY($1)", "[null]").constant() == filter_truth::unknown);
  CHECK(*bind_ok("stage = ANY($1)", "[[null]]").constant() == filter_truth::unknown);
  CHECK(*bind_ok("'a' = ANY($1)", R"([["b", "a"]])").constant() == filter_truth::true_);
  CHECK(*bind_ok("'a' = ANY($1)", R"([["b", null]])").constant() == filter_truth::unknown);
  CHECK(*bind_ok("'a' = ANY($1)", R"([["b"]])").constant() == filter_truth::false_);
  CHECK(error_of("'a' = ANY($1)", R"([[1]])").code == filter_errc::type_mismatch);

  filter_limits l;
  l.max_in_list = 3;
  auto checked = prepare_filter("rep_id = ANY($1)", opportunities(), l);
  REQUIRE(checked.has_value());
  CHECK(bind_filter(*checked, arr("[[1,2,3]]"), {}).has_value());
  auto e = bind_filter(*checked, arr("[[1,2,3,4]]"), {});
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().code == filter_errc::list_too_long);
  CHECK(e.error().position == 13);
  CHECK(e.error().message == "$1 has 4 elements; ANY takes at most 3");
}

TEST_CASE("filter bind: constants fold with three-valued logic", "[filter][bind]") {
  const auto admin = R"({"role":"admin","territories":[1]})";
  const auto rep = R"({"role":"rep","territories":[1]})";
  const auto scope = "$claims.role = 'admin' OR territory_id = ANY($claims.territories)";
  CHECK(*bind_ok(scope, "[]", admin).constant() == filter_truth::true_);
  auto r = bind_ok(scope, "[]", rep);
  CHECK_FALSE(r.constant());
  CHECK(r.root.k == bound_node::kind::in_set);
  REQUIRE(r.columns.size() == 1);
  CHECK(r.columns[0].column.name == "territory_id");

  using t = filter_truth;
  struct fold_case {
    const char* text;
    filter_truth expected;
  };
  const fold_case cases[] = {
      {"TRUE", t::true_},
      {"FALSE", t::false_},
      {"NULL", t::unknown},
      {"NOT NULL", t::unknown},
      {"NULL AND FALSE", t::false_},
      {"NULL AND TRUE", t::unknown},
      {"NULL OR TRUE", t::true_},
      {"NULL OR FALSE", t::unknown},
      {"rep_id = NULL", t::unknown},
      {"NOT (rep_id = NULL)", t::unknown},
      {"rep_id = NULL OR TRUE", t::true_},
      {"rep_id = NULL AND FALSE", t::false_},
      {"rep_id IN (NULL, NULL)", t::unknown},
      {"rep_id NOT IN (NULL)", t::unknown},
      {"stage LIKE NULL", t::unknown},
      {"1 = 1", t::true_},
      {"1 = 1.0", t::true_},
      {"2 > 10", t::false_},
      {"'b' > 'a'", t::true_},
      {"'B' > 'a'", t::false_},
      {"true > false", t::true_},
      {"1 IN (2, 1)", t::true_},
      {"1 IN (2, NULL)", t::unknown},
      {"1 NOT IN (2, NULL)", t::unknown},
      {"1 NOT IN (2, 3)", t::true_},
      {"NULL IN (1)", t::unknown},
      {"'abc' LIKE 'a%'", t::true_},
      {"'abc' NOT LIKE 'a%'", t::false_},
      {"NULL IS NULL", t::true_},
      {"1 IS NOT NULL", t::true_},
      {"won AND FALSE", t::false_},
      {"won OR TRUE", t::true_},
      {"NOT (won OR TRUE)", t::false_},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto f = bind_ok(c.text);
    REQUIRE(f.constant());
    CHECK(truth_name(*f.constant()) == std::string(truth_name(c.expected)));
  }

  // UNKNOWN constants stay inside chains that still depend on the row.
  auto partial = bind_ok("won AND NULL");
  CHECK(partial.root.k == bound_node::kind::and_);
  CHECK(evaluate(partial, obj(R"({"won":true})")) == t::unknown);
  CHECK(evaluate(partial, obj(R"({"won":false})")) == t::false_);
  auto dropped = bind_ok("won AND TRUE AND (FALSE OR lost)");
  CHECK(dropped.root.k == bound_node::kind::and_);
  CHECK(dropped.root.children.size() == 2);
}

TEST_CASE("filter bind: the columns a bound filter still reads", "[filter][bind]") {
  auto f = bind_ok("(rep_id = 1 OR $1) AND stage = 'x'", "[true]");
  REQUIRE(f.columns.size() == 1);
  CHECK(f.columns[0].column.name == "stage");
  auto g = bind_ok("rep_id = NULL OR stage = 'x' OR stage = 'y'");
  REQUIRE(g.columns.size() == 1);
}
