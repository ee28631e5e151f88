// What a change means for one subscription (old row and new row), and the index constraint
// a subscription is filed under.

#include "server/live/subscription_filter.hpp"
#include "tests/unit/server/sync_test_schema.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync;
using namespace fieldsync::server;
using namespace fieldsync::server::test;

namespace {

subscription_filter territories(const protocol::collection_schema& s, const char* claims,
                                const char* where = "TRUE") {
  return {bind_text(s, "territory_id = ANY($claims.territories)", claims), bind_text(s, where)};
}

protocol::row_change change(protocol::change_op op, const std::string& now,
                            const std::string& before = "") {
  protocol::row_change c;
  c.collection = "accounts";
  c.op = op;
  c.row = row(now);
  if (!before.empty()) c.old_row = row(before);
  return c;
}

}  // namespace

TEST_CASE("classify: the old and the new row decide insert, update, delete", "[sync][filter]") {
  const auto s = accounts_schema();
  const auto f = territories(s, R"({"territories":[1,2]})", "segment = 'A'");
  using protocol::change_op;

  CHECK(classify(f, change(change_op::insert, R"({"id":1,"territory_id":1,"segment":"A"})")) ==
        delivery::insert);
  CHECK(classify(f, change(change_op::insert, R"({"id":1,"territory_id":3,"segment":"A"})")) ==
        delivery::none);
  CHECK(classify(f, change(change_op::insert, R"({"id":1,"territory_id":1,"segment":"B"})")) ==
        delivery::none);
  // A logged delete carries the old row.
  CHECK(classify(f, change(change_op::remove, R"({"id":1,"territory_id":2,"segment":"A"})")) ==
        delivery::remove);
  CHECK(classify(f, change(change_op::remove, R"({"id":1,"territory_id":9,"segment":"A"})")) ==
        delivery::none);

  const char* in = R"({"id":1,"territory_id":1,"segment":"A"})";
  const char* in2 = R"({"id":1,"territory_id":2,"segment":"A"})";
  const char* out_territory = R"({"id":1,"territory_id":7,"segment":"A"})";
  const char* out_where = R"({"id":1,"territory_id":1,"segment":"C"})";
  CHECK(classify(f, change(change_op::update, in2, in)) ==
        delivery::update);  // moves within the view
  CHECK(classify(f, change(change_op::update, in, out_territory)) == delivery::insert);  // moves in
  CHECK(classify(f, change(change_op::update, out_territory, in)) ==
        delivery::remove);  // moves out
  CHECK(classify(f, change(change_op::update, in, out_where)) ==
        delivery::insert);  // the client filter too
  CHECK(classify(f, change(change_op::update, out_where, in)) == delivery::remove);
  CHECK(classify(f, change(change_op::update, out_territory, out_where)) == delivery::none);
  // Without the old row (never with REPLICA IDENTITY FULL): upsert or delete, both harmless.
  CHECK(classify(f, change(change_op::update, in)) == delivery::update);
  CHECK(classify(f, change(change_op::update, out_territory)) == delivery::remove);
}

TEST_CASE("classify: NULL never matches, as in SQL", "[sync][filter]") {
  const auto s = accounts_schema();
  const auto f = territories(s, R"({"territories":[1]})");
  using protocol::change_op;
  CHECK(classify(f, change(change_op::insert, R"({"id":1,"territory_id":null})")) ==
        delivery::none);
  CHECK(classify(f, change(change_op::update, R"({"id":1,"territory_id":null})",
                           R"({"id":1,"territory_id":1})")) == delivery::remove);
}

TEST_CASE("a filter bound to nothing matches nothing", "[sync][filter]") {
  const auto s = accounts_schema();
  // A claim that is absent reads as NULL: ANY(NULL) is never true.
  subscription_filter f{bind_text(s, "territory_id = ANY($claims.territories)", "{}"),
                        bind_text(s, "TRUE")};
  CHECK(f.matches_nothing());
  subscription_filter g{
      bind_text(s, "territory_id = ANY($claims.territories)", R"({"territories":[1]})"),
      bind_text(s, "FALSE")};
  CHECK(g.matches_nothing());
  CHECK_FALSE(territories(s, R"({"territories":[1]})").matches_nothing());
}

TEST_CASE("choose_index_constraint: the most selective equality of scope or where",
          "[sync][filter][index]") {
  const auto s = accounts_schema();

  SECTION("the scope's ANY") {
    auto c = choose_index_constraint(territories(s, R"({"territories":[3,1,2]})"));
    REQUIRE(c);
    CHECK(c->column == "territory_id");
    CHECK(c->keys.size() == 3);
  }
  SECTION("a narrower where wins") {
    auto c = choose_index_constraint(
        territories(s, R"({"territories":[1,2,3]})", "id = 42 AND segment <> 'C'"));
    REQUIRE(c);
    CHECK(c->column == "id");
    CHECK(c->keys.size() == 1);
  }
  SECTION("an OR over one column pins it to the union (the demo's kpis scope)") {
    subscription_filter f{bind_text(s, "rep_id = $claims.rep_id OR rep_id = ANY($claims.reps)",
                                    R"({"rep_id":1,"reps":[1,2,3]})"),
                          bind_text(s, "TRUE")};
    auto c = choose_index_constraint(f);
    REQUIRE(c);
    CHECK(c->column == "rep_id");
    CHECK(c->keys.size() == 3);
  }
  SECTION("an OR with a branch that pins nothing gives no constraint") {
    subscription_filter f{bind_text(s, "rep_id = 1 OR segment LIKE 'A%'"), bind_text(s, "TRUE")};
    CHECK_FALSE(choose_index_constraint(f));
  }
  SECTION("an OR over different columns gives no constraint") {
    subscription_filter f{bind_text(s, "rep_id = 1 OR territory_id = 2"), bind_text(s, "TRUE")};
    CHECK_FALSE(choose_index_constraint(f));
  }
  SECTION("an OR nested in an AND still pins its column") {
    subscription_filter f{
        bind_text(s, "segment = 'A' AND (territory_id = 1 OR territory_id IN (2, 3))"),
        bind_text(s, "TRUE")};
    auto c = choose_index_constraint(f);
    REQUIRE(c);
    CHECK(c->column == "segment");  // one key beats three
    subscription_filter g{
        bind_text(s, "amount > 5 AND (territory_id = 1 OR territory_id IN (2, 3))"),
        bind_text(s, "TRUE")};
    auto d = choose_index_constraint(g);
    REQUIRE(d);
    CHECK(d->column == "territory_id");
    CHECK(d->keys.size() == 3);
  }
  SECTION("a public collection without a where is unindexed") {
    subscription_filter f{bind_text(s, "TRUE"), bind_text(s, "TRUE")};
    CHECK_FALSE(choose_index_constraint(f));
  }
}
