#include "server/net/query_string.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;

namespace {

query_params parsed(std::string_view query) {
  auto p = parse_query(query);
  REQUIRE(p);
  return *p;
}

}  // namespace

TEST_CASE("a query string decodes to name/value pairs in order", "[query_string]") {
  CHECK(parsed("") == query_params{});
  CHECK(parsed("a=1&b=2") == query_params{{"a", "1"}, {"b", "2"}});
  CHECK(parsed("a=1&a=2") == query_params{{"a", "1"}, {"a", "2"}});
  // Empty pieces are skipped; a name without '=' has an empty value; '=' in a value stays.
  CHECK(parsed("&a=1&&b&") == query_params{{"a", "1"}, {"b", ""}});
  CHECK(parsed("a=&b==c") == query_params{{"a", ""}, {"b", "=c"}});
}

TEST_CASE("'+' is a space and %2B a plus, as URLSearchParams writes them", "[query_string]") {
  // new URLSearchParams({where: "name = 'a+b c'"}).toString()
  CHECK(parsed("where=name+%3D+%27a%2Bb+c%27") == query_params{{"where", "name = 'a+b c'"}});
  CHECK(parsed("a+b=c+d") == query_params{{"a b", "c d"}});
  CHECK(parsed("a=%20%2b%2B") == query_params{{"a", " ++"}});
  // A '+' that an escape produced is a plus, not a space.
  CHECK(parsed("a=%2B+") == query_params{{"a", "+ "}});
}

TEST_CASE("escapes decode to bytes", "[query_string]") {
  CHECK(parsed("k=%E2%82%AC") == query_params{{"k", "\xE2\x82\xAC"}});
  CHECK(parsed("%26=%3D") == query_params{{"&", "="}});
}

TEST_CASE("a value that is not UTF-8 text makes the query malformed", "[query_string]") {
  CHECK_FALSE(parse_query("a=%00"));        // NUL: PostgreSQL text cannot hold it
  CHECK_FALSE(parse_query("a=%FF"));        // not UTF-8
  CHECK_FALSE(parse_query("%C0%80=1"));     // an overlong NUL
  CHECK_FALSE(parse_query("a=%ED%A0%80"));  // a UTF-16 surrogate
}

TEST_CASE("a malformed escape makes the query malformed", "[query_string]") {
  CHECK_FALSE(parse_query("a=%"));
  CHECK_FALSE(parse_query("a=%4"));
  CHECK_FALSE(parse_query("a=%zz&b=1"));
  CHECK_FALSE(parse_query("%g1=1"));
}

TEST_CASE("find_param gives the first value of a name", "[query_string]") {
  const auto q = parsed("a=1&b=2&a=3");
  REQUIRE(find_param(q, "a"));
  CHECK(*find_param(q, "a") == "1");
  CHECK(*find_param(q, "b") == "2");
  CHECK_FALSE(find_param(q, "c"));
  CHECK_FALSE(find_param(q, "A"));
}
