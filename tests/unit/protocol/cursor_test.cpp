// Cursors: the opaque positions clients resume from.

#include "protocol/cursor.hpp"

#include <catch2/catch.hpp>

using fieldsync::protocol::cursor;
using fieldsync::protocol::lsn;

TEST_CASE("a cursor prints and parses back, with and without an index", "[protocol][cursor]") {
  cursor whole{1764068691000000, lsn(0x16B374D848ull)};
  CHECK(whole.to_string() == "1764068691000000-00000016B374D848");
  CHECK(cursor::parse(whole.to_string()) == whole);

  cursor partial{7, lsn(0x10), 41};
  CHECK(partial.to_string() == "7-0000000000000010-41");
  CHECK(cursor::parse(partial.to_string()) == partial);
  CHECK(partial < cursor{7, lsn(0x10)});  // part of a transaction comes before all of it
  CHECK(cursor{7, lsn(0xF)} < partial);
}

TEST_CASE("anything but a cursor this server wrote is refused", "[protocol][cursor]") {
  for (const char* bad : {"", "-", "7", "7-", "7-10", "x-0000000000000010", "-1-0000000000000010",
                          "7-000000000000001G", "7-00000000000000100", "7-0000000000000010-",
                          "7-0000000000000010-x", "7-0000000000000010-4294967295",
                          "7-0000000000000010-1-2", "99999999999999999999-0000000000000010"}) {
    INFO(bad);
    CHECK_FALSE(cursor::parse(bad));
  }
}
