#include "server/net/connection_registry.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;

namespace {

struct fake : connection {
  explicit fake(std::string_view k) : k_(k) {}
  std::string_view kind() const noexcept override { return k_; }
  void shutdown() override { ++shutdowns; }
  std::string_view k_;
  int shutdowns = 0;
};

}  // namespace

TEST_CASE("the registry lists connections of a kind in id order, paged, and finds them by id",
          "[server][registry]") {
  connection_registry r;
  std::vector<std::shared_ptr<fake>> held;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 7; ++i) {
    held.push_back(std::make_shared<fake>(i % 2 ? "http" : "websocket"));
    ids.push_back(r.add(held.back()));
  }
  CHECK(r.count("websocket") == 4);

  auto page = r.list("websocket", 0, 3);
  REQUIRE(page.size() == 3);
  CHECK(page[0].first == ids[0]);
  CHECK(page[1].first == ids[2]);
  CHECK(page[2].first == ids[4]);
  auto rest = r.list("websocket", page.back().first, 3);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].first == ids[6]);

  CHECK(r.find(ids[3]) == held[3]);
  CHECK(r.find(ids[6] + 100) == nullptr);
  page.clear();
  rest.clear();
  held[2].reset();  // gone without unregistering: not listed, not found
  CHECK(r.find(ids[2]) == nullptr);
  CHECK(r.list("websocket", 0, 10).size() == 3);
  r.remove(ids[3]);
  CHECK(r.find(ids[3]) == nullptr);
}
