#include "conflicts/strategies/lww_strategy.hpp"

#include "../merge_test_support.hpp"
#include "conflicts/canonical_value.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>

using namespace fieldsync::conflicts;
using namespace fieldsync::conflicts::test;

namespace {

writer by(std::int64_t ms, std::uint32_t counter, std::string_view node) {
  return writer{clock(ms, counter, node), std::string(node)};
}

boost::json::value random_value(rng& r) {
  switch (r.below(9)) {
    case 0:
      return nullptr;
    case 1:
      return static_cast<std::int64_t>(r.below(3));
    case 2:
      return 1.0;  // the same value as the integer 1
    case 3:
      return r.chance(50) ? "a" : "b";
    case 4:
      return r.chance(50);
    case 5:
      return j("[1, 2]");
    case 6:
      return j(R"({"k": 1})");
    case 7:
      return "";
    default:
      return static_cast<std::int64_t>(r.below(2));
  }
}

mutation random_mutation(rng& r, const boost::json::object& base_row,
                         const std::vector<std::string>& fields, std::string_view node,
                         std::int64_t base_ms) {
  mutation m;
  for (const auto& f : fields) {
    if (!r.chance(60)) continue;
    m.changes[f] = random_value(r);
    m.base[f] = base_row.at(f);
  }
  if (m.changes.empty()) {
    m.changes[fields[0]] = random_value(r);
    m.base[fields[0]] = base_row.at(fields[0]);
  }
  // Clocks close together so that ties on time and counter happen often.
  m.client = by(base_ms + r.between(1, 3), static_cast<std::uint32_t>(r.below(2)), node);
  return m;
}

// What lww promises: per field, the value of the latest writer that changed it.
boost::json::value expected(const boost::json::object& base_row, const std::string& field,
                            const std::vector<const mutation*>& ms) {
  const mutation* latest = nullptr;
  for (const auto* m : ms) {
    const auto* v = m->changes.if_contains(field);
    if (!v || same_value(*v, base_row.at(field))) continue;
    if (!latest || latest->client.clock < m->client.clock) latest = m;
  }
  return latest ? latest->changes.at(field) : base_row.at(field);
}

}  // namespace

TEST_CASE("lww: the later clock wins", "[lww]") {
  auto early = by(1000, 0, "a");
  auto late = by(2000, 0, "b");
  CHECK(merged_text(merge_one("lww", "1", "2", "3", late, early)) == "2");
  CHECK(merged_text(merge_one("lww", "1", "2", "3", early, late)) == "3");
  // The counter orders within one millisecond.
  CHECK(merged_text(merge_one("lww", "1", "2", "3", by(1000, 2, "a"), by(1000, 1, "z"))) == "2");
}

TEST_CASE("lww: equal times are broken by client id, the same in either direction", "[lww]") {
  auto a = by(1000, 3, "device-a");
  auto b = by(1000, 3, "device-b");
  // "device-b" sorts after "device-a": it wins whether it is the client or the server.
  CHECK(merged_text(merge_one("lww", "0", "\"from b\"", "\"from a\"", b, a)) == "\"from b\"");
  CHECK(merged_text(merge_one("lww", "0", "\"from a\"", "\"from b\"", a, b)) == "\"from b\"");
}

TEST_CASE("lww: an unknown clock loses, and without clocks the ids decide", "[lww]") {
  writer unknown;
  auto known = by(5, 0, "a");
  CHECK(merged_text(merge_one("lww", "1", "2", "3", known, unknown)) == "2");
  CHECK(merged_text(merge_one("lww", "1", "2", "3", unknown, known)) == "3");
  // Neither clock: the client ids, then the values' canonical order, symmetric.
  CHECK(merged_text(merge_one("lww", "1", "2", "3", writer{{}, "b"}, writer{{}, "a"})) == "2");
  CHECK(merged_text(merge_one("lww", "1", "2", "3", writer{{}, "a"}, writer{{}, "b"})) == "3");
  CHECK(merged_text(merge_one("lww", "1", "2", "3", unknown, unknown)) ==
        merged_text(merge_one("lww", "1", "3", "2", unknown, unknown)));
}

TEST_CASE("lww: deterministic", "[lww]") {
  for (int i = 0; i < 3; ++i) {
    CHECK(merged_text(merge_one("lww", "[1]", "[2]", "[3]", by(9, 0, "a"), by(9, 0, "a"))) ==
          merged_text(merge_one("lww", "[1]", "[2]", "[3]", by(9, 0, "a"), by(9, 0, "a"))));
  }
}

TEST_CASE("lww: two concurrent mutations give the same row in either order", "[lww][property]") {
  rng r(1001);
  const std::vector<std::string> fields = {"f", "g", "h"};
  auto config = config_with("lww");
  for (int i = 0; i < 3000; ++i) {
    boost::json::object base_row{{"id", 1}};
    for (const auto& f : fields) base_row[f] = random_value(r);
    server_row start{base_row, by(1000, 0, "integration"), std::nullopt};
    auto m1 = random_mutation(r, base_row, fields, "a", 1000);
    auto m2 = random_mutation(r, base_row, fields, "b", 1000);
    auto orders = both_orders(config, start, m1, m2);
    INFO(boost::json::serialize(orders.first_then_second.row)
         << " vs " << boost::json::serialize(orders.second_then_first.row));
    CHECK(same_value(orders.first_then_second.row, orders.second_then_first.row));
    for (const auto& f : fields) {
      CHECK(same_value(orders.first_then_second.row.at(f), expected(base_row, f, {&m1, &m2})));
    }
    // Deterministic: the same arrival order gives the same bytes.
    CHECK(apply(config, apply(config, start, m1), m2).row == orders.first_then_second.row);
    // Idempotent: a duplicate of a mutation changes nothing.
    auto once = apply(config, start, m1);
    CHECK(same_value(apply(config, once, m1).row, once.row));
  }
}

TEST_CASE("lww: with per-field clocks any number of writers commute", "[lww][property]") {
  rng r(77);
  const std::vector<std::string> fields = {"f", "g"};
  auto config = config_with("lww");
  for (int i = 0; i < 500; ++i) {
    boost::json::object base_row{{"id", 1}};
    for (const auto& f : fields) base_row[f] = random_value(r);
    server_row start{base_row, by(1000, 0, "integration"),
                     std::map<std::string, hlc, std::less<>>{}};
    std::array<mutation, 3> ms = {random_mutation(r, base_row, fields, "a", 1000),
                                  random_mutation(r, base_row, fields, "b", 1000),
                                  random_mutation(r, base_row, fields, "c", 1000)};
    std::array<int, 3> order = {0, 1, 2};
    std::optional<boost::json::object> first;
    do {
      server_row s = start;
      for (int k : order) s = apply(config, s, ms[static_cast<std::size_t>(k)]);
      if (!first) first = s.row;
      INFO("base " << boost::json::serialize(base_row));
      std::string described;
      for (const auto& m : ms) {
        described += m.client.clock->to_string() + " " + boost::json::serialize(m.changes) + "; ";
      }
      INFO(described);
      INFO("order " << order[0] << order[1] << order[2] << " -> " << boost::json::serialize(s.row));
      CHECK(same_value(s.row, *first));
      for (const auto& f : fields) {
        CHECK(same_value(s.row.at(f), expected(base_row, f, {&ms[0], &ms[1], &ms[2]})));
      }
    } while (std::next_permutation(order.begin(), order.end()));
  }
}
