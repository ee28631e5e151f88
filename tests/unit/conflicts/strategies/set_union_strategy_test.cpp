#include "conflicts/strategies/set_union_strategy.hpp"

#include "../merge_test_support.hpp"
#include "conflicts/canonical_value.hpp"
#include "conflicts/merge_errc.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <set>

using namespace fieldsync::conflicts;
using namespace fieldsync::conflicts::test;
using fieldsync::protocol::type_class;

namespace {

std::string set_union(const char* base, std::string_view client, std::string_view server,
                      const fieldsync::protocol::column_type& type = {}) {
  return merged_text(merge_one("set-union", base, client, server, {}, {}, type));
}

boost::json::value random_set(rng& r) {
  boost::json::array a;
  auto n = r.below(6);
  for (std::uint64_t i = 0; i < n; ++i) {
    switch (r.below(3)) {
      case 0:
        a.emplace_back(std::string(1, static_cast<char>('a' + r.below(6))));
        break;
      case 1:
        a.emplace_back(static_cast<std::int64_t>(r.below(3)));
        break;
      default:
        a.emplace_back(static_cast<double>(r.below(3)));  // 1.0 is the element 1
    }
  }
  return a;
}

std::set<std::string> as_set(const boost::json::value& v) {
  std::set<std::string> out;
  for (const auto& e : v.as_array()) out.insert(canonical_value(e));
  return out;
}

// What set-union promises as a set: an element of the base stays unless some writer removed
// it; an element outside the base is there if some writer added it.
std::set<std::string> expected(const boost::json::value& base,
                               const std::vector<const boost::json::value*>& writes) {
  std::set<std::string> out;
  auto b = as_set(base);
  std::set<std::string> universe = b;
  for (const auto* w : writes) {
    auto s = as_set(*w);
    universe.insert(s.begin(), s.end());
  }
  for (const auto& e : universe) {
    bool in_base = b.contains(e);
    bool removed = false, added = false;
    for (const auto* w : writes) {
      bool in_write = as_set(*w).contains(e);
      removed |= in_base && !in_write;
      added |= !in_base && in_write;
    }
    if ((in_base && !removed) || added) out.insert(e);
  }
  return out;
}

}  // namespace

TEST_CASE("set-union: the client's additions and removals onto the server's set", "[set-union]") {
  // The server added "kol", the client removed "rural" and added "digital": server order, then
  // the client's additions in its order.
  CHECK(set_union(R"(["rural","vip"])", R"(["vip","digital","early"])",
                  R"(["rural","vip","kol"])") == R"(["vip","kol","digital","early"])");
  // A removal on the server stands even though the client still has the element.
  CHECK(set_union(R"(["a","b"])", R"(["a","b","x"])", R"(["a"])") == R"(["a","x"])");
  // Both removed different elements.
  CHECK(set_union(R"(["a","b","c"])", R"(["a","c"])", R"(["a","b"])") == R"(["a"])");
  // An element both added appears once.
  CHECK(set_union(R"([])", R"(["x","y"])", R"(["y","z"])") == R"(["y","z","x"])");
  // Absent or null base (an insert merged onto a row): a plain union.
  CHECK(set_union(nullptr, R"(["x"])", R"(["y"])") == R"(["y","x"])");
  CHECK(set_union("null", R"(["x"])", "null") == R"(["x"])");
  // The result holds each element once, even when a side had duplicates.
  CHECK(set_union(R"(["a"])", R"(["a","b","b"])", R"(["a","a","c"])") == R"(["a","c","b"])");
  // Elements compare semantically.
  CHECK(set_union("[1]", "[1.0, 2]", "[1, 3]") == "[1,3,2]");
  CHECK(set_union(R"(["1.0"])", R"(["1", "2"])", R"(["1.00", "3"])",
                  type_of(type_class::array, type_class::numeric)) == R"(["1.00","3","2"])");
}

TEST_CASE("set-union: sets are the same in any order", "[set-union]") {
  // The server only reordered: unchanged as a set, so the client's value is taken as is.
  CHECK(set_union(R"(["a","b"])", R"(["a","b","c"])", R"(["b","a"])") == R"(["a","b","c"])");
  // The client only reordered: the server's value stays.
  auto r = merge_one("set-union", R"(["a","b"])", R"(["b","a"])", R"(["a","b","c"])");
  REQUIRE(r.has_value());
  CHECK(r->resolution == field_resolution::server);
}

TEST_CASE("set-union: values that are not arrays are not mergeable", "[set-union]") {
  auto not_mergeable = "rejected:" + make_error_code(merge_errc::not_mergeable).message();
  CHECK(set_union("[]", R"(["a"])", R"("a")") == not_mergeable);
  CHECK(set_union(R"({"a":1})", R"(["a"])", R"(["b"])") == not_mergeable);
}

TEST_CASE("set-union: concurrent mutations give the same set in any order",
          "[set-union][property]") {
  rng r(4242);
  auto config = config_with("set-union");
  for (int i = 0; i < 2000; ++i) {
    boost::json::object base_row{{"id", 1}, {"tags", random_set(r)}};
    server_row start{base_row, {}, std::nullopt};
    std::array<mutation, 3> ms;
    for (auto& m : ms) m = mutation{{{"tags", random_set(r)}}, {{"tags", base_row.at("tags")}}, {}};
    auto want = expected(base_row.at("tags"), {&ms[0].changes.at("tags"), &ms[1].changes.at("tags"),
                                               &ms[2].changes.at("tags")});
    std::array<int, 3> order = {0, 1, 2};
    do {
      server_row s = start;
      for (int k : order) s = apply(config, s, ms[static_cast<std::size_t>(k)]);
      INFO(boost::json::serialize(base_row) << " -> " << boost::json::serialize(s.row));
      CHECK(as_set(s.row.at("tags")) == want);
    } while (std::next_permutation(order.begin(), order.end()));

    // Two of them: the same order of arrival gives the same array, element order included.
    auto orders = both_orders(config, start, ms[0], ms[1]);
    CHECK(apply(config, apply(config, start, ms[0]), ms[1]).row == orders.first_then_second.row);
    // A duplicate changes nothing.
    auto once = apply(config, apply(config, start, ms[0]), ms[1]);
    CHECK(apply(config, once, ms[1]).row == once.row);
  }
}
