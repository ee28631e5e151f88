#include "conflicts/merge_config.hpp"

#include "merge_test_support.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::conflicts;
using namespace fieldsync::conflicts::test;
using fieldsync::protocol::type_class;

namespace {

fieldsync::protocol::collection_schema kpis_schema() {
  fieldsync::protocol::collection_schema s;
  s.name = "kpis";
  s.table_name = "kpis";
  s.primary_key = {"rep_id", "month"};
  auto integer = type_of(type_class::integer);
  integer.name = "int4";
  auto date = type_of(type_class::date);
  date.name = "date";
  auto numeric = type_of(type_class::numeric);
  numeric.name = "numeric";
  s.columns = {{"rep_id", integer},
               {"month", date},
               {"calls_done", integer},
               {"revenue", numeric},
               {"updated_at", type_of(type_class::timestamptz)}};
  s.columns.back().type.name = "timestamptz";
  return s;
}

}  // namespace

TEST_CASE("merge config defaults", "[merge_config]") {
  merge_config c;
  CHECK(c.default_strategy == "lww");
  CHECK(c.update_deleted == update_deleted_policy::delete_wins);
  CHECK(c.delete_changed == delete_changed_policy::reject);
  CHECK(c.insert_existing == insert_existing_policy::reject);
  c.field_strategies.emplace("calls_done", "counter");
  CHECK(c.strategy_for("calls_done") == "counter");
  CHECK(c.strategy_for("anything_else") == "lww");
}

TEST_CASE("row-level policy names round-trip", "[merge_config]") {
  for (auto p : {update_deleted_policy::delete_wins, update_deleted_policy::update_wins}) {
    CHECK(parse_update_deleted_policy(to_string(p)) == p);
  }
  for (auto p : {delete_changed_policy::delete_wins, delete_changed_policy::reject}) {
    CHECK(parse_delete_changed_policy(to_string(p)) == p);
  }
  for (auto p : {insert_existing_policy::reject, insert_existing_policy::merge_as_update}) {
    CHECK(parse_insert_existing_policy(to_string(p)) == p);
  }
  CHECK(to_string(update_deleted_policy::update_wins) == "update-wins");
  CHECK(to_string(insert_existing_policy::merge_as_update) == "merge-as-update");
  CHECK_FALSE(parse_update_deleted_policy("reject"));
  CHECK_FALSE(parse_delete_changed_policy("update-wins"));
  CHECK_FALSE(parse_insert_existing_policy("Reject"));
}

TEST_CASE("a valid config has no errors", "[merge_config]") {
  merge_config c;
  c.collection = "kpis";
  c.field_strategies = {{"calls_done", "counter"}, {"revenue", "counter"}};
  CHECK(validate_merge_config(c, builtins()).empty());
  auto schema = kpis_schema();
  CHECK(validate_merge_config(c, builtins(), &schema).empty());
}

TEST_CASE("unknown strategy names are errors naming the collection and field", "[merge_config]") {
  merge_config c;
  c.collection = "kpis";
  c.default_strategy = "last-write-wins";
  c.field_strategies = {{"calls_done", "countr"}, {"revenue", "counter"}};
  auto errors = validate_merge_config(c, builtins());
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].collection == "kpis");
  CHECK(errors[0].field.empty());
  CHECK(errors[0].message ==
        "collection \"kpis\", default merge strategy: unknown merge strategy \"last-write-wins\" "
        "(known: client-wins, counter, lww, max, min, reject, server-wins, set-union)");
  CHECK(errors[1].field == "calls_done");
  CHECK(errors[1].message ==
        "collection \"kpis\", field \"calls_done\": unknown merge strategy \"countr\" "
        "(known: client-wins, counter, lww, max, min, reject, server-wins, set-union)");
}

TEST_CASE("with the schema, fields and types are checked too", "[merge_config]") {
  auto schema = kpis_schema();
  merge_config c;
  c.collection = "kpis";
  c.field_strategies = {{"calls_don", "counter"}, {"updated_at", "set-union"}, {"", "lww"}};
  auto errors = validate_merge_config(c, builtins(), &schema);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].message == "collection \"kpis\", default merge strategy: empty field name");
  CHECK(errors[1].message ==
        "collection \"kpis\", field \"calls_don\": no such column in table "
        "\"kpis\"");
  CHECK(errors[2].message ==
        "collection \"kpis\", field \"updated_at\": merge strategy "
        "\"set-union\" cannot merge a timestamptz column");

  // A default that cannot merge some column: that column needs its own strategy. Key columns
  // are never merged and need none.
  merge_config d;
  d.collection = "kpis";
  d.default_strategy = "counter";
  errors = validate_merge_config(d, builtins(), &schema);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "updated_at");
  CHECK(errors[0].message ==
        "collection \"kpis\", field \"updated_at\": the default merge strategy \"counter\" cannot "
        "merge a timestamptz column; give the column a strategy of its own");
  d.field_strategies.emplace("updated_at", "lww");
  CHECK(validate_merge_config(d, builtins(), &schema).empty());
}
