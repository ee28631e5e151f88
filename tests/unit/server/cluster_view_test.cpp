// The pure decisions of the cluster view: down nodes, client references across nodes, the
// disconnect orders nodes NOTIFY each other, and counting leadership changes.

#include "server/admin/cluster_view.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;
using namespace std::chrono_literals;

TEST_CASE("a node is down after three missed heartbeats of its own interval", "[cluster]") {
  CHECK_FALSE(node_is_down(0ms, 5000ms));
  CHECK_FALSE(node_is_down(15000ms, 5000ms));
  CHECK(node_is_down(15001ms, 5000ms));
  CHECK(node_is_down(700ms, 200ms));
  CHECK_FALSE(node_is_down(600ms, 200ms));
}

TEST_CASE("node ids are 16 hex digits, different per start", "[cluster]") {
  auto a = random_node_id();
  auto b = random_node_id();
  CHECK(a.size() == 16);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("client references name a node and a session", "[cluster]") {
  client_ref r{"a1b2", 42};
  CHECK(to_string(r) == "a1b2:42");
  CHECK(parse_client_ref("a1b2:42") == r);
  CHECK(parse_client_ref("node:with:colons:7") == client_ref{"node:with:colons", 7});
  CHECK_FALSE(parse_client_ref("42"));
  CHECK_FALSE(parse_client_ref(":42"));
  CHECK_FALSE(parse_client_ref("a:"));
  CHECK_FALSE(parse_client_ref("a:-1"));
  CHECK_FALSE(parse_client_ref("a:12x"));
  CHECK_FALSE(parse_client_ref("a:99999999999999999999999"));
  // Ordered by node, then id: the cluster-wide list's paging order.
  CHECK(client_ref{"a", 9} < client_ref{"b", 1});
  CHECK(client_ref{"a", 2} < client_ref{"a", 10});
}

TEST_CASE("disconnect orders round-trip and concern the right nodes", "[cluster]") {
  disconnect_order by_subject{"n1", std::string("user-7"), std::nullopt};
  auto parsed = parse_disconnect_order(encode(by_subject));
  REQUIRE(parsed);
  CHECK(parsed->from == "n1");
  CHECK(parsed->subject == "user-7");
  CHECK_FALSE(parsed->session);
  CHECK_FALSE(order_concerns(*parsed, "n1"));  // the sender closed its own already
  CHECK(order_concerns(*parsed, "n2"));

  disconnect_order by_id{"n1", std::nullopt, client_ref{"n2", 17}};
  parsed = parse_disconnect_order(encode(by_id));
  REQUIRE(parsed);
  REQUIRE(parsed->session);
  CHECK(*parsed->session == client_ref{"n2", 17});
  CHECK(order_concerns(*parsed, "n2"));
  CHECK_FALSE(order_concerns(*parsed, "n3"));
  CHECK_FALSE(order_concerns(*parsed, "n1"));
}

TEST_CASE("notifications that are not orders of this version are ignored", "[cluster]") {
  CHECK_FALSE(parse_disconnect_order(""));
  CHECK_FALSE(parse_disconnect_order("not json"));
  CHECK_FALSE(parse_disconnect_order("[]"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"drain","from":"n1","subject":"u"})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","subject":"u"})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","from":"n1"})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","from":"n1","subject":""})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","from":"n1","subject":7})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","from":"n1","node":"n2"})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","from":"n1","node":"n2","id":-3})"));
  CHECK_FALSE(parse_disconnect_order(R"({"op":"disconnect","from":"n1","node":"n2","id":"3"})"));
  CHECK_FALSE(parse_disconnect_order(
      R"({"op":"disconnect","from":"n1","subject":"u","node":"n2","id":3})"));
  CHECK(parse_disconnect_order(R"({"op":"disconnect","from":"n1","node":"n2","id":3})"));
}

TEST_CASE("leadership changes are counted from observations", "[cluster]") {
  using clock = std::chrono::system_clock;
  const auto t1 = clock::time_point(1000s);
  const auto t2 = clock::time_point(2000s);
  leader_watch w;
  CHECK(w.observe(false, {}) == 0);
  CHECK(w.observe(true, t1) == 1);
  CHECK(w.observe(true, t1) == 0);
  CHECK(w.observe(true, t2) == 2);  // lost and regained between two looks
  CHECK(w.observe(false, t2) == 1);
  CHECK(w.observe(false, t2) == 0);
}
