#include "storage/prepared_statements.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using fieldsync::storage::prepared_statements;

TEST_CASE("a text is sent unnamed at its first use and prepared at its second", "[prepared]") {
  prepared_statements p;
  CHECK_FALSE(p.use_of("SELECT 1").has_value());
  auto second = p.use_of("SELECT 1");
  REQUIRE(second.has_value());
  CHECK(second->prepare);
  auto third = p.use_of("SELECT 1");
  REQUIRE(third.has_value());
  CHECK_FALSE(third->prepare);
  CHECK(third->name == second->name);
  CHECK(p.size() == 1);
}

TEST_CASE("a forgotten text is prepared again under a new name", "[prepared]") {
  prepared_statements p;
  (void)p.use_of("SELECT 1");
  const auto first = p.use_of("SELECT 1")->name;
  p.forget("SELECT 1");
  CHECK(p.size() == 0);
  CHECK_FALSE(p.use_of("SELECT 1").has_value());  // counted afresh
  auto again = p.use_of("SELECT 1");
  REQUIRE(again.has_value());
  CHECK(again->prepare);
  CHECK(again->name != first);  // the old name may still exist on the server

  (void)p.use_of("SELECT 2");
  (void)p.use_of("SELECT 2");
  CHECK(p.size() == 2);
  p.forget_all();
  CHECK(p.size() == 0);
  CHECK_FALSE(p.use_of("SELECT 2").has_value());
}

TEST_CASE("a session prepares a bounded number of texts and remembers a bounded number",
          "[prepared]") {
  prepared_statements p;
  std::set<std::string> names;
  for (std::size_t i = 0; i < prepared_statements::max_prepared + 10; ++i) {
    const auto sql = "SELECT " + std::to_string(i);
    (void)p.use_of(sql);
    if (auto u = p.use_of(sql)) names.insert(u->name);
  }
  CHECK(p.size() == prepared_statements::max_prepared);
  CHECK(names.size() == prepared_statements::max_prepared);
  CHECK_FALSE(p.use_of("SELECT 0")->prepare);       // the prepared ones stay
  CHECK_FALSE(p.use_of("SELECT 200").has_value());  // no more are prepared

  prepared_statements q;
  for (std::size_t i = 0; i < prepared_statements::max_seen; ++i)
    (void)q.use_of("SELECT " + std::to_string(i));
  (void)q.use_of("SELECT one more");  // the seen texts are forgotten to make room
  CHECK_FALSE(q.use_of("SELECT 0").has_value());
  CHECK(q.use_of("SELECT one more").has_value());
}

TEST_CASE("a text longer than the limit is never prepared", "[prepared]") {
  prepared_statements p;
  const std::string long_text =
      "SELECT '" + std::string(prepared_statements::max_text_bytes, 'x') + "'";
  for (int i = 0; i < 3; ++i) CHECK_FALSE(p.use_of(long_text).has_value());
  CHECK(p.size() == 0);
}
