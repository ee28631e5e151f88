#include "conflicts/strategy_registry.hpp"

#include "merge_test_support.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace fieldsync::conflicts;

namespace {

class named final : public merge_strategy {
 public:
  explicit named(std::string name) : name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  boost::system::result<boost::json::value> resolve(const field_context& c) const override {
    return *c.server;
  }

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("the built-in registry has every documented strategy", "[registry]") {
  auto r = strategy_registry::builtin();
  CHECK(r.names() == std::vector<std::string_view>{"client-wins", "counter", "lww", "max", "min",
                                                   "reject", "server-wins", "set-union"});
  for (auto name : r.names()) {
    INFO(name);
    REQUIRE(r.find(name));
    CHECK(r.find(name)->name() == name);
  }
  CHECK_FALSE(r.find("LWW"));
  CHECK_FALSE(r.find(""));
  CHECK_FALSE(r.find("last-writer-wins"));
}

TEST_CASE("a registry takes new strategies and refuses clashes", "[registry]") {
  strategy_registry r;
  CHECK(r.names().empty());
  r.add(std::make_unique<named>("owner-wins"));
  CHECK(r.find("owner-wins"));
  CHECK_THROWS_AS(r.add(std::make_unique<named>("owner-wins")), std::invalid_argument);
  CHECK_THROWS_AS(r.add(std::make_unique<named>("")), std::invalid_argument);
  CHECK_THROWS_AS(r.add(nullptr), std::invalid_argument);
  auto moved = std::move(r);
  CHECK(moved.find("owner-wins"));
}
