#include "server/net/connection_budget.hpp"

#include <catch2/catch.hpp>

#include <vector>

using fieldsync::server::connection_budget;

TEST_CASE("a connection budget gives at most max slots and takes them back", "[net][budget]") {
  auto budget = std::make_shared<connection_budget>(3);
  std::vector<connection_budget::slot> held;
  for (int i = 0; i < 3; ++i) {
    auto s = budget->try_acquire();
    REQUIRE(s);
    held.push_back(std::move(*s));
  }
  CHECK(budget->used() == 3);
  CHECK_FALSE(budget->try_acquire());

  held.pop_back();  // a connection ends
  CHECK(budget->used() == 2);
  auto again = budget->try_acquire();
  REQUIRE(again);
  CHECK(budget->used() == 3);

  // A moved slot is given back once, by its last owner.
  connection_budget::slot moved = std::move(*again);
  again.reset();
  CHECK(budget->used() == 3);
  moved = std::move(held.front());
  CHECK(budget->used() == 2);
  held.clear();
  CHECK(budget->used() == 1);
}

TEST_CASE("two budgets are counted apart", "[net][budget]") {
  auto public_budget = std::make_shared<connection_budget>(1);
  auto admin_budget = std::make_shared<connection_budget>(1);
  auto p = public_budget->try_acquire();
  REQUIRE(p);
  CHECK_FALSE(public_budget->try_acquire());
  CHECK(admin_budget->try_acquire());
}
