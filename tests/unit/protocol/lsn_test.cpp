#include "protocol/lsn.hpp"

#include <catch2/catch.hpp>

using fieldsync::protocol::lsn;

TEST_CASE("lsn parses and prints the PostgreSQL text form", "[lsn]") {
  auto l = lsn::parse("16/B374D848");
  REQUIRE(l);
  CHECK(l->value() == 0x16B374D848ull);
  CHECK(l->to_string() == "16/B374D848");
  CHECK(lsn::parse("0/0")->is_zero());
  CHECK(lsn::parse("FFFFFFFF/FFFFFFFF")->value() == ~0ull);
}

TEST_CASE("lsn rejects malformed text", "[lsn]") {
  for (auto bad : {"", "/", "16", "16/", "/1", "16/B374D848x", "1/2/3", "G/1", "100000000/0",
                   " 1/2", "-1/2"}) {
    INFO(bad);
    CHECK_FALSE(lsn::parse(bad));
  }
}

TEST_CASE("lsn orders by WAL position", "[lsn]") {
  CHECK(*lsn::parse("0/FF") < *lsn::parse("1/0"));
  CHECK(lsn{5} == lsn{5});
}
