// The hub's subscription index: every subscription that could match a change is offered,
// once; those filed under other keys are not looked at.

#include "server/live/subscription_index.hpp"
#include "tests/unit/server/sync_test_schema.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <set>
#include <vector>

using namespace fieldsync;
using namespace fieldsync::server;
using namespace fieldsync::server::test;

namespace {

struct sub {
  subscription_filter filter;
  std::optional<index_constraint> constraint;
  std::uint64_t index_stamp = 0;
};

std::unique_ptr<sub> make_sub(const protocol::collection_schema& s, const std::string& scope,
                              const std::string& claims, const std::string& where = "TRUE") {
  auto out = std::make_unique<sub>();
  out->filter.scope = bind_text(s, scope, claims);
  out->filter.where = bind_text(s, where);
  out->constraint = choose_index_constraint(out->filter);
  return out;
}

std::vector<sub*> candidates(subscription_index<sub>& index, const boost::json::object& now,
                             const boost::json::object* before = nullptr) {
  std::vector<sub*> out;
  index.for_each_candidate(now, before, [&](sub* s) { out.push_back(s); });
  return out;
}

}  // namespace

TEST_CASE("the index offers the subscriptions of the row's key, old and new, once each",
          "[sync][index]") {
  const auto schema = accounts_schema();
  subscription_index<sub> index(&schema);
  auto a = make_sub(schema, "territory_id = ANY($claims.territories)", R"({"territories":[1]})");
  auto b = make_sub(schema, "territory_id = ANY($claims.territories)", R"({"territories":[2]})");
  auto ab = make_sub(schema, "territory_id = ANY($claims.territories)", R"({"territories":[1,2]})");
  auto all = make_sub(schema, "TRUE", "{}", "segment LIKE 'A%'");
  for (auto* s : {a.get(), b.get(), ab.get(), all.get()}) index.add(s, s->constraint);
  CHECK(index.size() == 4);
  CHECK(index.unindexed() == 1);
  CHECK(index.indexed_columns() == 1);

  auto in1 = row(R"({"id":1,"territory_id":1})");
  auto in2 = row(R"({"id":1,"territory_id":2})");
  auto in3 = row(R"({"id":1,"territory_id":3})");
  using set = std::multiset<sub*>;
  auto got = [](std::vector<sub*> v) { return set(v.begin(), v.end()); };
  CHECK(got(candidates(index, in1)) == set{a.get(), ab.get(), all.get()});
  CHECK(got(candidates(index, in3)) == set{all.get()});
  // A move from 1 to 2: both territories' subscribers, `ab` once.
  CHECK(got(candidates(index, in2, &in1)) == set{a.get(), b.get(), ab.get(), all.get()});
  // Keys compare by value: 1 and "1" and 1.0 are the same bigint.
  CHECK(got(candidates(index, row(R"({"territory_id":"1"})"))) ==
        set{a.get(), ab.get(), all.get()});
  CHECK(got(candidates(index, row(R"({"territory_id":null})"))) == set{all.get()});
  CHECK(got(candidates(index, row(R"({"id":5})"))) == set{all.get()});

  index.remove(ab.get(), ab->constraint);
  index.remove(all.get(), all->constraint);
  CHECK(got(candidates(index, in2, &in1)) == set{a.get(), b.get()});
  index.remove(a.get(), a->constraint);
  index.remove(b.get(), b->constraint);
  CHECK(index.size() == 0);
  CHECK(index.indexed_columns() == 0);
  CHECK(candidates(index, in1).empty());
}

TEST_CASE(
    "index property: candidates include every matching subscription (random filters and rows)",
    "[sync][index]") {
  const auto schema = accounts_schema();
  std::mt19937 rng(4242);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> scopes = {
      "territory_id = ANY($claims.territories)",
      "rep_id = $claims.rep_id OR rep_id = ANY($claims.reps)",
      "TRUE",
      "territory_id = ANY($claims.territories) AND segment IN ('A', 'B')",
  };
  const std::vector<std::string> wheres = {"TRUE",
                                           "segment = 'A'",
                                           "amount > 10",
                                           "id IN (1, 2, 3, 4)",
                                           "active",
                                           "segment = 'B' OR amount < 5",
                                           "NOT (territory_id = 3)"};
  subscription_index<sub> index(&schema);
  std::vector<std::unique_ptr<sub>> subs;
  for (int i = 0; i < 300; ++i) {
    std::string claims = "{\"territories\":[" + std::to_string(pick(6)) + "," +
                         std::to_string(pick(6)) + "],\"rep_id\":" + std::to_string(pick(8)) +
                         ",\"reps\":[" + std::to_string(pick(8)) + "]}";
    subs.push_back(make_sub(schema, scopes[static_cast<std::size_t>(pick(4))], claims,
                            wheres[static_cast<std::size_t>(pick(7))]));
    index.add(subs.back().get(), subs.back()->constraint);
  }
  // Some leave again, to exercise removal.
  for (int i = 0; i < 60; ++i) {
    auto& s = subs[static_cast<std::size_t>(i * 5)];
    index.remove(s.get(), s->constraint);
    s.reset();
  }
  auto random_row = [&] {
    boost::json::object r;
    r["id"] = pick(6);
    r["territory_id"] = pick(7) == 0 ? boost::json::value(nullptr) : boost::json::value(pick(6));
    r["rep_id"] = pick(8);
    r["segment"] = std::string(1, static_cast<char>('A' + pick(3)));
    r["amount"] = std::to_string(pick(20)) + ".50";
    r["active"] = pick(2) == 0;
    return r;
  };
  std::size_t offered = 0, matched = 0;
  for (int i = 0; i < 3000; ++i) {
    auto now = random_row();
    auto before = random_row();
    bool update = pick(2) == 0;
    auto got = candidates(index, now, update ? &before : nullptr);
    std::set<sub*> offered_set(got.begin(), got.end());
    REQUIRE(offered_set.size() == got.size());  // never twice
    offered += got.size();
    for (auto& s : subs) {
      if (!s) continue;
      bool match = s->filter.matches(now) || (update && s->filter.matches(before));
      if (match) {
        ++matched;
        REQUIRE(offered_set.contains(s.get()));
      }
    }
  }
  // The index does prune: far fewer candidates than subscriptions per change.
  CHECK(offered < 3000u * 240u / 2u);
  CHECK(matched > 0);
}
