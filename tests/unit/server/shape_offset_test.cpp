#include "server/pull/shape_offset.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;
using fieldsync::protocol::cursor;
using fieldsync::protocol::lsn;

TEST_CASE("shape offsets: the forms Electric clients send", "[pulls][shape]") {
  auto o = shape_offset::parse("-1");
  REQUIRE(o);
  CHECK(o->k == shape_offset::kind::before_all);
  CHECK(shape_offset::parse("now")->k == shape_offset::kind::now);
  o = shape_offset::parse("0_250");
  REQUIRE(o);
  CHECK(o->k == shape_offset::kind::snapshot);
  CHECK(o->rows == 250);
  CHECK(o->to_string() == "0_250");

  o = shape_offset::parse("24739568_0");
  REQUIRE(o);
  CHECK(o->k == shape_offset::kind::log);
  CHECK(o->lsn == lsn(24739568));
  CHECK(o->index == cursor::whole_transaction);
  CHECK(o->to_string() == "24739568_0");

  // Inside a transaction: the first k changes delivered, index k-1.
  auto mid = shape_offset::after(cursor{1, lsn(99), 4});
  CHECK(mid.to_string() == "99_5");
  o = shape_offset::parse("99_5");
  REQUIRE(o);
  CHECK(o->index == 4);
  CHECK(shape_offset::parse("0_0")->k == shape_offset::kind::log);  // the empty log's cursor

  for (auto bad :
       {"", "-2", "x_1", "1_", "_1", "1_2_3", "1_99999999999", "18446744073709551616_0"}) {
    CAPTURE(bad);
    CHECK_FALSE(shape_offset::parse(bad));
  }
}

TEST_CASE("shape handles round-trip and carry the definition", "[pulls][shape]") {
  shape_handle h{1764000000000000, lsn(0x16B374D848),
                 shape_definition_hash("items", "a = 1", "", "")};
  auto p = shape_handle::parse(h.to_string());
  REQUIRE(p);
  CHECK(*p == h);
  CHECK(shape_definition_hash("items", "a = 1", "", "") !=
        shape_definition_hash("items", "a = 2", "", ""));
  CHECK(shape_definition_hash("ab", "c", "", "") != shape_definition_hash("a", "bc", "", ""));
  for (auto bad : {"", "1", "1-2", "1-2-xyz", "x-2-0000000000000000", "1-2-00000000000000000"}) {
    CAPTURE(bad);
    CHECK_FALSE(shape_handle::parse(bad));
  }
}
