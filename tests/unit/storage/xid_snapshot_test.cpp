// The visibility filter that keeps a table copy and the stream from applying a
// transaction twice.

#include "storage/xid_snapshot.hpp"

#include <catch2/catch.hpp>

using fieldsync::storage::xid_snapshot;

TEST_CASE("xid_snapshot sees what committed before it and nothing that was running",
          "[storage][snapshot]") {
  auto s = xid_snapshot::parse("100:110:102,105");
  REQUIRE(s);
  CHECK(s->sees(50));
  CHECK(s->sees(99));
  CHECK(s->sees(100));   // between xmin and xmax, not running
  CHECK_FALSE(s->sees(102));
  CHECK(s->sees(103));
  CHECK_FALSE(s->sees(105));
  CHECK_FALSE(s->sees(110));  // xmax and later: not yet assigned
  CHECK_FALSE(s->sees(200));
  CHECK(s->to_string() == "100:110:102,105");
}

TEST_CASE("xid_snapshot compares 32-bit stream xids across the wraparound of 64-bit ones",
          "[storage][snapshot]") {
  // Epoch 1: 64-bit xids 2^32 + n appear on the stream as n.
  const std::uint64_t base = 1ull << 32;
  auto s = xid_snapshot::parse(std::to_string(base + 10) + ":" + std::to_string(base + 20) + ":" +
                               std::to_string(base + 15));
  REQUIRE(s);
  CHECK(s->sees(5));
  CHECK(s->sees(12));
  CHECK_FALSE(s->sees(15));
  CHECK_FALSE(s->sees(25));
  // Just below the epoch boundary: xids near 2^32 - 1 precede 10 modulo 2^32.
  CHECK(s->sees(0xFFFFFFF0u));

  // A snapshot that straddles the boundary: xmin before it, xmax after.
  auto t = xid_snapshot::parse(std::to_string(base - 5) + ":" + std::to_string(base + 5) + ":" +
                               std::to_string(base - 2) + "," + std::to_string(base + 1));
  REQUIRE(t);
  CHECK(t->sees(0xFFFFFFFAu));   // base - 6: before xmin
  CHECK(t->sees(0xFFFFFFFCu));   // base - 4
  CHECK_FALSE(t->sees(0xFFFFFFFEu));  // base - 2: running
  CHECK(t->sees(0));             // base: committed
  CHECK_FALSE(t->sees(1));       // base + 1: running
  CHECK_FALSE(t->sees(5));       // xmax
}

TEST_CASE("xid_snapshot rejects what pg_current_snapshot would never print", "[storage][snapshot]") {
  for (const char* bad : {"", "1", "1:2", "x:2:", "5:3:", "1:5:7", "1:5:0", "1:5:2,,3", "1:5:2,",
                          "-1:5:", "1:5: 2", "99999999999999999999999:1:"}) {
    INFO(bad);
    CHECK_FALSE(xid_snapshot::parse(bad));
  }
  auto empty = xid_snapshot::parse("7:7:");
  REQUIRE(empty);
  CHECK(empty->sees(6));
  CHECK_FALSE(empty->sees(7));
}
