// server-wins, client-wins, reject, max and min.

#include "../merge_test_support.hpp"
#include "conflicts/canonical_value.hpp"
#include "conflicts/merge_errc.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::conflicts;
using namespace fieldsync::conflicts::test;
using fieldsync::protocol::type_class;

namespace {

const writer later_client{clock(2000, 0, "a"), "a"};
const writer earlier_server{clock(1000, 0, "b"), "b"};

std::string merge(std::string_view strategy, const char* base, std::string_view client,
                  std::string_view server) {
  return merged_text(merge_one(strategy, base, client, server, later_client, earlier_server));
}

}  // namespace

TEST_CASE("server-wins keeps the current value, whatever the clocks", "[server-wins]") {
  CHECK(merge("server-wins", "1", "2", "3") == "3");
  CHECK(merge("server-wins", "1", "2", "1") == "2");  // the frame: no conflict, no policy
  CHECK(merge("server-wins", "1", "1", "3") == "3");
}

TEST_CASE("client-wins takes the arriving value, whatever the clocks", "[client-wins]") {
  CHECK(merged_text(merge_one("client-wins", "1", "2", "3", earlier_server, later_client)) == "2");
  CHECK(merge("client-wins", "1", "1", "3") == "3");  // the frame: the client did not change it
}

TEST_CASE("reject refuses a real conflict only", "[reject]") {
  auto r = merge_one("reject", R"("old note")", R"("rep's note")", R"("manager's note")");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == merge_errc::conflict);
  CHECK(reason_code(merge_errc::conflict) == "conflict");
  CHECK(merge("reject", R"("a")", R"("b")", R"("a")") == R"("b")");
  CHECK(merge("reject", R"("a")", R"("a")", R"("c")") == R"("c")");
  CHECK(merge("reject", R"("a")", R"("same")", R"("same")") == R"("same")");
}

TEST_CASE("max and min pick by exact numeric value", "[max][min]") {
  CHECK(merge("max", "1", "5", "3") == "5");
  CHECK(merge("max", "1", "2", "3") == "3");
  CHECK(merge("min", "9", "5", "3") == "3");
  CHECK(merge("min", "9", "2", "3") == "2");
  CHECK(merge("max", "0", R"("10.5")", "10") == R"("10.5")");
  CHECK(merge("max", "0", "9007199254740993", "9007199254740992") == "9007199254740993");
  CHECK(merge("min", "0", R"("-0.01")", "0.0") == R"("-0.01")");
  CHECK(merge("max", "0", "null", "3") == "3");  // null loses to any number
  CHECK(merge("min", "0", "4", "null") == "4");
  // Equal values, different spellings: the server's stays (no write).
  CHECK(merge("max", "0", R"("2.50")", "2.5") == boost::json::serialize(j("2.5")));
  CHECK(merge("max", "0", R"("x")", "2") ==
        "rejected:" + make_error_code(merge_errc::not_mergeable).message());
}

TEST_CASE("max and min give the same value in either order", "[max][min][property]") {
  rng r(99);
  fieldsync::protocol::collection_schema schema;
  schema.columns.push_back({"n", type_of(type_class::numeric)});
  for (auto name : {"max", "min"}) {
    auto config = config_with(name);
    for (int i = 0; i < 1000; ++i) {
      auto value = [&]() -> boost::json::value {
        auto v = r.between(-5, 5);
        if (r.chance(30)) return boost::json::value(std::to_string(v) + ".0");
        if (r.chance(10)) return nullptr;
        return v;
      };
      boost::json::object base_row{{"id", 1}, {"n", value()}};
      server_row start{base_row, {}, std::nullopt};
      mutation m1{{{"n", value()}}, {{"n", base_row.at("n")}}, {}};
      mutation m2{{{"n", value()}}, {{"n", base_row.at("n")}}, {}};
      auto orders = both_orders(config, start, m1, m2, &schema);
      CHECK(same_value(orders.first_then_second.row.at("n"), orders.second_then_first.row.at("n"),
                       schema.columns[0].type));
    }
  }
}

TEST_CASE("the strategies' promises", "[registry]") {
  for (auto name : {"lww", "counter", "set-union", "max", "min"}) {
    INFO(name);
    CHECK(builtins().find(name)->commutative());
  }
  for (auto name : {"server-wins", "client-wins", "reject"}) {
    INFO(name);
    CHECK_FALSE(builtins().find(name)->commutative());
  }
}
