#include "server/pull/pull_position.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;
using fieldsync::protocol::cursor;
using fieldsync::protocol::lsn;

TEST_CASE("base64url round-trips every length and refuses bad text", "[pulls]") {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    auto enc = base64url_encode(bytes);
    CHECK(enc.find_first_of("+/=") == std::string::npos);
    auto dec = base64url_decode(enc);
    REQUIRE(dec);
    CHECK(*dec == bytes);
    bytes += static_cast<char>(n * 37 + 200);
  }
  CHECK_FALSE(base64url_decode("a"));     // a length no encoding has
  CHECK_FALSE(base64url_decode("ab+c"));  // not the url alphabet
  CHECK_FALSE(base64url_decode("AB"));    // leftover bits set: a second spelling of "\x00"
  CHECK(base64url_decode("AA") == std::string(1, '\0'));
}

TEST_CASE("pull positions: log cursors and snapshot positions round-trip", "[pulls]") {
  cursor c{1764000000000000, lsn(0x16B374D848), cursor::whole_transaction};
  auto p = parse_pull_position(to_string(pull_position(c)));
  REQUIRE(p);
  CHECK(std::get<cursor>(*p) == c);

  c.index = 7;
  p = parse_pull_position(to_string(pull_position(c)));
  REQUIRE(p);
  CHECK(std::get<cursor>(*p) == c);

  snapshot_position s{42, lsn(0xABCDEF), "[7,\"2026-11-01\"]"};
  auto text = to_string(pull_position(s));
  CHECK(text.front() == 'S');
  p = parse_pull_position(text);
  REQUIRE(p);
  CHECK(std::get<snapshot_position>(*p) == s);
}

TEST_CASE("pull positions: anything else is refused", "[pulls]") {
  for (auto bad : {"", "S", "S1", "S1-00000000000000AB", "S1-00000000000000AB-",
                   "S1-00000000000000AB-a.b", "x", "1-ZZ", "S1-00000000000000AB-@@"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_pull_position(bad));
  }
  // A key over the limit is refused unread.
  std::string big = "S1-00000000000000AB-" + base64url_encode(std::string(100, 'k'));
  CHECK_FALSE(parse_pull_position(big, 50));
  CHECK(parse_pull_position(big, 100));
}
