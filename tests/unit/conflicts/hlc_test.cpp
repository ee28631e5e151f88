#include "conflicts/hlc.hpp"

#include "merge_test_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using fieldsync::conflicts::hlc;
using fieldsync::conflicts::hlc_errc;
using fieldsync::conflicts::test::clock;
using fieldsync::conflicts::test::rng;

TEST_CASE("hlc parses and prints its text form", "[hlc]") {
  auto c = hlc::parse("2026-11-25T11:04:51.123Z-001F-7c9e6679-7425-40de-944b-e07fc1f90ae7");
  REQUIRE(c);
  CHECK(c->physical_ms() == 1'795'604'691'123);
  CHECK(c->counter() == 0x1F);
  CHECK(c->node() == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  CHECK(c->to_string() == "2026-11-25T11:04:51.123Z-001F-7c9e6679-7425-40de-944b-e07fc1f90ae7");

  CHECK(hlc::parse("1970-01-01T00:00:00.000Z-0000-a")->physical_ms() == 0);
  CHECK(hlc::parse("2024-02-29T23:59:59.999Z-0000-a")->physical_ms() == 1'709'251'199'999);
  CHECK(hlc::parse("2000-02-29T00:00:00.000Z-0000-a"));
  auto last = hlc::parse("9999-12-31T23:59:59.999Z-FFFF-node_1.x:y");
  REQUIRE(last);
  CHECK(last->physical_ms() == hlc::max_physical_ms);
  CHECK(last->counter() == hlc::max_counter);
  CHECK(last->to_string() == "9999-12-31T23:59:59.999Z-FFFF-node_1.x:y");
  CHECK(clock(0, 0, "n").to_string() == "1970-01-01T00:00:00.000Z-0000-n");
  CHECK(hlc::zero("dev-1")->to_string() == "1970-01-01T00:00:00.000Z-0000-dev-1");
}

TEST_CASE("hlc rejects malformed text with the reason", "[hlc]") {
  std::string long_node(hlc::max_node_size + 1, 'a');
  struct bad_case {
    std::string text;
    hlc_errc error;
  };
  std::vector<bad_case> cases = {
      {"", hlc_errc::malformed},
      {"2026-11-25T11:04:51.123Z-0001-", hlc_errc::malformed},
      {"2026-11-25T11:04:51.123Z-0001", hlc_errc::malformed},
      {"2026-11-25T11:04:51.123Z_0001-a", hlc_errc::malformed},
      {"2026-11-25T11:04:51.123Z-0001_a", hlc_errc::malformed},
      {"2026-11-25 11:04:51.123Z-0001-a", hlc_errc::malformed},
      {"2026-11-25T11:04:51Z-0001-abcd", hlc_errc::malformed},        // no milliseconds
      {"2026-11-25T11:04:51.1234-0001-a", hlc_errc::malformed},       // no Z
      {"2026-11-25T11:04:51.123+01:00-0001-a", hlc_errc::malformed},  // offsets are not UTC
      {"2026-11-25T11:04:51.123Z-0001-" + long_node, hlc_errc::malformed},
      {"2026-13-25T11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"2026-00-25T11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"2025-02-29T11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"2100-02-29T11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"2026-04-31T11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"2026-11-25T24:00:00.000Z-0001-a", hlc_errc::bad_time},
      {"2026-11-25T11:60:51.123Z-0001-a", hlc_errc::bad_time},
      {"2026-11-25T11:04:60.123Z-0001-a", hlc_errc::bad_time},  // no leap seconds
      {"1969-12-31T23:59:59.999Z-0001-a", hlc_errc::bad_time},
      {"2026-11-2xT11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"-026-11-25T11:04:51.123Z-0001-a", hlc_errc::bad_time},
      {"2026-11-25T11:04:51.123Z-001f-a", hlc_errc::bad_counter},  // one spelling: upper case
      {"2026-11-25T11:04:51.123Z-00G1-a", hlc_errc::bad_counter},
      {"2026-11-25T11:04:51.123Z- 001-a", hlc_errc::bad_counter},
      {"2026-11-25T11:04:51.123Z-0001-a b", hlc_errc::bad_node},
      {"2026-11-25T11:04:51.123Z-0001-ünï", hlc_errc::bad_node},
      {"2026-11-25T11:04:51.123Z-0001-a/b", hlc_errc::bad_node},
      {std::string("2026-11-25T11:04:51.123Z-0001-a\0b", 33), hlc_errc::bad_node},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = hlc::parse(c.text);
    REQUIRE_FALSE(r);
    CHECK(r.error() == make_error_code(c.error));
  }
}

TEST_CASE("hlc::make validates its parts", "[hlc]") {
  CHECK(hlc::make(-1, 0, "a").error() == hlc_errc::bad_time);
  CHECK(hlc::make(hlc::max_physical_ms + 1, 0, "a").error() == hlc_errc::bad_time);
  CHECK(hlc::make(0, hlc::max_counter + 1, "a").error() == hlc_errc::bad_counter);
  CHECK(hlc::make(0, 0, "").error() == hlc_errc::bad_node);
  CHECK(hlc::make(0, 0, std::string(hlc::max_node_size, 'x')));
  CHECK(hlc::make(0, 0, std::string(hlc::max_node_size + 1, 'x')).error() == hlc_errc::bad_node);
}

TEST_CASE("hlc orders by time, then counter, then node", "[hlc]") {
  CHECK(clock(1, 0, "z") < clock(2, 0, "a"));
  CHECK(clock(1, 1, "a") < clock(1, 2, "a"));
  CHECK(clock(1, 0xFF, "z") < clock(1, 0x100, "a"));
  CHECK(clock(1, 1, "a") < clock(1, 1, "b"));  // the tie-break: same instant, different clients
  CHECK(clock(1, 1, "ab") < clock(1, 1, "b"));
  CHECK(clock(1, 1, "a") < clock(1, 1, "a-"));
  CHECK(clock(1, 1, "a") == clock(1, 1, "a"));
  CHECK_FALSE(clock(1, 1, "a") == clock(1, 1, "A"));
}

TEST_CASE("hlc text round-trips and sorts like the clocks", "[hlc][property]") {
  rng r(20261125);
  std::vector<hlc> clocks;
  for (int i = 0; i < 2000; ++i) {
    std::int64_t ms =
        r.chance(30) ? r.between(0, hlc::max_physical_ms) : 1'795'604'691'000 + r.between(0, 3);
    auto counter = static_cast<std::uint32_t>(r.chance(50) ? r.below(3) : r.below(0x10000));
    std::string node = r.pick({"a", "b", "ab", "a-b", "B", "0", "client:7", "z.z"});
    clocks.push_back(clock(ms, counter, node));
  }
  for (std::size_t i = 0; i < clocks.size(); ++i) {
    const auto& a = clocks[i];
    auto text = a.to_string();
    auto back = hlc::parse(text);
    REQUIRE(back);
    CHECK(*back == a);
    CHECK(back->to_string() == text);
    const auto& b = clocks[(i * 7919 + 1) % clocks.size()];
    CHECK((a <=> b) == (text.compare(b.to_string()) <=> 0));
  }
}

TEST_CASE("hlc send moves with wall time and never goes backwards", "[hlc]") {
  auto c = clock(1000, 5, "a");
  CHECK(c.send(2000).value() == clock(2000, 0, "a"));
  CHECK(c.send(1000).value() == clock(1000, 6, "a"));
  CHECK(c.send(10).value() == clock(1000, 6, "a"));  // a wall clock set back
  CHECK(clock(1000, hlc::max_counter, "a").send(1000).error() == hlc_errc::counter_overflow);
  CHECK(clock(1000, hlc::max_counter, "a").send(1001).value() == clock(1001, 0, "a"));
  CHECK(c.send(-1).error() == hlc_errc::bad_time);
  CHECK(c.send(hlc::max_physical_ms + 1).error() == hlc_errc::bad_time);
}

TEST_CASE("hlc receive takes the latest of local, remote and wall time", "[hlc]") {
  auto local = clock(1000, 5, "a");
  // Wall time ahead of both: counter resets.
  CHECK(local.receive(clock(1500, 9, "b"), 2000).value() == clock(2000, 0, "a"));
  // Remote ahead: its time and counter + 1, our node.
  CHECK(local.receive(clock(1500, 9, "b"), 1200).value() == clock(1500, 10, "a"));
  // Local ahead.
  CHECK(local.receive(clock(900, 9, "b"), 950).value() == clock(1000, 6, "a"));
  // Same physical time: the larger counter + 1.
  CHECK(local.receive(clock(1000, 9, "b"), 1000).value() == clock(1000, 10, "a"));
  CHECK(local.receive(clock(1000, 2, "b"), 1000).value() == clock(1000, 6, "a"));
  CHECK(local.receive(clock(1000, hlc::max_counter, "b"), 900).error() ==
        hlc_errc::counter_overflow);
}

TEST_CASE("hlc receive refuses a clock too far ahead of wall time", "[hlc]") {
  auto local = clock(1000, 0, "server");
  auto now = std::int64_t{1'000'000};
  CHECK(local.receive(clock(now + hlc::default_max_drift_ms, 0, "b"), now));
  CHECK(local.receive(clock(now + hlc::default_max_drift_ms + 1, 0, "b"), now).error() ==
        hlc_errc::clock_drift);
  CHECK(local.receive(clock(now + 10, 0, "b"), now, 5).error() == hlc_errc::clock_drift);
  CHECK(local.receive(clock(hlc::max_physical_ms, 0, "b"), 0, INT64_MAX));  // no overflow
}

TEST_CASE("hlc events are strictly ordered across nodes", "[hlc][property]") {
  // Three nodes with skewed, jumping wall clocks exchange messages; every event's clock is
  // later than the node's previous one and, for a receive, than the message's.
  rng r(7);
  std::vector<hlc> nodes = {clock(0, 0, "a"), clock(0, 0, "b"), clock(0, 0, "c")};
  std::vector<std::int64_t> skew = {0, 3, -5};
  std::int64_t t = 1'000'000;
  for (int i = 0; i < 5000; ++i) {
    t += static_cast<std::int64_t>(r.below(3));
    auto n = r.below(3);
    std::int64_t wall = t + skew[n] - (r.chance(5) ? 50 : 0);  // now and then set back
    hlc before = nodes[n];
    if (r.chance(50)) {
      nodes[n] = nodes[n].send(wall).value();
    } else {
      const hlc& message = nodes[(n + 1 + r.below(2)) % 3];
      nodes[n] = nodes[n].receive(message, wall).value();
      CHECK(message.physical_ms() <= nodes[n].physical_ms());
      CHECK(nodes[n] > hlc::make(message.physical_ms(), message.counter(), "a").value());
    }
    CHECK(nodes[n] > before);
    CHECK(nodes[n].physical_ms() >= wall);
    CHECK(nodes[n].physical_ms() - wall <= 60);  // stays close to the fastest wall clock
  }
}
