// [collections.NAME.merge] and [mutations]: nested tables of a collection entry, checked
// against the strategy registry at load time.

#include "server/app/config_file.hpp"
#include "server/app/dev_command.hpp"

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

using fieldsync::server::config_error;
using fieldsync::server::environment;
using fieldsync::server::load_config;
using fieldsync::test::temp_dir;
using fieldsync::test::write_file;

namespace {

const std::string base = "[database]\ndsn = \"x\"\n[collections.kpis]\nprimary_key = [\"id\"]\n";

fieldsync::server::config load(const std::string& toml, const environment& env = {}) {
  temp_dir dir;
  auto file = dir.path() / "fieldsync.toml";
  write_file(file, toml);
  return load_config(file, env);
}

std::string load_error(const std::string& toml, const environment& env = {}) {
  try {
    load(toml, env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("merge policies are read per collection and per field", "[config][merge]") {
  auto cfg = load(base +
                  "[collections.kpis.merge]\ndefault = \"server-wins\"\n"
                  "update_deleted = \"update-wins\"\ndelete_changed = \"delete-wins\"\n"
                  "insert_existing = \"merge-as-update\"\n"
                  "[collections.kpis.merge.fields]\ncalls = \"counter\"\ntags = \"set-union\"\n");
  REQUIRE(cfg.collections.size() == 1);
  auto m = fieldsync::server::merge_config_of(cfg.collections[0]);
  CHECK(m.collection == "kpis");
  CHECK(m.default_strategy == "server-wins");
  CHECK(m.strategy_for("calls") == "counter");
  CHECK(m.strategy_for("tags") == "set-union");
  CHECK(m.strategy_for("other") == "server-wins");
  CHECK(m.update_deleted == fieldsync::conflicts::update_deleted_policy::update_wins);
  CHECK(m.delete_changed == fieldsync::conflicts::delete_changed_policy::delete_wins);
  CHECK(m.insert_existing == fieldsync::conflicts::insert_existing_policy::merge_as_update);
}

TEST_CASE("merge defaults when a collection says nothing", "[config][merge]") {
  auto m = fieldsync::server::merge_config_of(load(base).collections.at(0));
  CHECK(m.default_strategy == "lww");
  CHECK(m.field_strategies.empty());
  CHECK(m.update_deleted == fieldsync::conflicts::update_deleted_policy::delete_wins);
  CHECK(m.delete_changed == fieldsync::conflicts::delete_changed_policy::reject);
  CHECK(m.insert_existing == fieldsync::conflicts::insert_existing_policy::reject);
}

TEST_CASE("unknown strategies and policies are one-line config errors", "[config][merge]") {
  auto err = load_error(base + "[collections.kpis.merge.fields]\ncalls = \"sum\"\n");
  CHECK_THAT(err, Catch::Contains("collections.kpis.merge") && Catch::Contains("sum") &&
                      Catch::Contains("counter"));
  CHECK(err.find('\n') == std::string::npos);
  err = load_error(base + "[collections.kpis.merge]\ndefault = \"newest\"\n");
  CHECK_THAT(err, Catch::Contains("newest"));
  err = load_error(base + "[collections.kpis.merge]\nupdate_deleted = \"maybe\"\n");
  CHECK_THAT(err, Catch::Contains("fieldsync.toml:6") && Catch::Contains("update_deleted") &&
                      Catch::Contains("delete-wins"));
  err = load_error(base + "[collections.kpis.merge]\nstrategy = \"lww\"\n");
  CHECK_THAT(err, Catch::Contains("unknown key collections.kpis.merge.strategy"));
  err = load_error(base + "[collections.kpis.merge.fields]\n\"not a column\" = \"lww\"\n");
  CHECK_THAT(err, Catch::Contains("not a column"));
  err = load_error(base + "[collections.kpis.merge.fields]\ncalls = 3\n");
  CHECK_THAT(err, Catch::Contains("a table of strings"));
}

TEST_CASE("merge settings are overridable from the environment", "[config][merge]") {
  auto cfg = load(base + "[collections.kpis.merge]\ndefault = \"lww\"\n",
                  {{"FIELDSYNC_COLLECTIONS_KPIS_MERGE_DEFAULT", "client-wins"},
                   {"FIELDSYNC_COLLECTIONS_KPIS_MERGE_FIELDS", "calls=counter,tags=set-union"}});
  auto m = fieldsync::server::merge_config_of(cfg.collections.at(0));
  CHECK(m.default_strategy == "client-wins");
  CHECK(m.strategy_for("calls") == "counter");
  CHECK(m.strategy_for("tags") == "set-union");
  CHECK_THAT(load_error(base, {{"FIELDSYNC_COLLECTIONS_KPIS_MERGE_FIELDS", "calls"}}),
             Catch::Contains("FIELDSYNC_COLLECTIONS_KPIS_MERGE_FIELDS"));
}

TEST_CASE("[mutations] limits are read and range-checked", "[config][mutations]") {
  auto cfg = load(base + "[mutations]\nmax_batch = 50\nversion_wait_ms = 0\nresult_retention = 10\n");
  CHECK(cfg.mutations.max_batch == 50);
  CHECK(cfg.mutations.version_wait == std::chrono::milliseconds(0));
  CHECK(cfg.mutations.result_retention == 10);
  CHECK(cfg.mutations.max_value_bytes == 64 * 1024);
  CHECK_THAT(load_error(base + "[mutations]\nmax_batch = 0\n"), Catch::Contains("mutations.max_batch"));
}

TEST_CASE("the demo merge policies are the documented ones", "[config][merge]") {
  auto dev = fieldsync::server::dev_defaults();
  auto find = [&](const std::string& name) {
    for (const auto& c : dev.collections) {
      if (c.name == name) return fieldsync::server::merge_config_of(c);
    }
    FAIL("no collection " << name);
    return fieldsync::conflicts::merge_config{};
  };
  CHECK(find("kpis").strategy_for("calls_done") == "counter");
  CHECK(find("kpis").strategy_for("revenue") == "counter");
  CHECK(find("kpis").insert_existing == fieldsync::conflicts::insert_existing_policy::merge_as_update);
  CHECK(find("visits").strategy_for("notes") == "reject");
  CHECK(find("visits").strategy_for("products_discussed") == "set-union");
  CHECK(find("opportunities").strategy_for("stage") == "lww");
  CHECK(find("accounts").strategy_for("tags") == "set-union");
  // The example file says the same.
  auto file = load_config(fieldsync::test::source_dir() / "config" / "fieldsync.toml", {});
  for (const auto& c : file.collections) {
    auto m = fieldsync::server::merge_config_of(c);
    CHECK(m.field_strategies == find(c.name).field_strategies);
    CHECK(m.insert_existing == find(c.name).insert_existing);
    // And the same column rules (writable_columns, server_set).
    for (const auto& d : dev.collections) {
      if (d.name != c.name) continue;
      INFO(c.name);
      CHECK(c.writable_columns == d.writable_columns);
      CHECK(c.server_set == d.server_set);
    }
  }
}
