#include "server/net/origin_policy.hpp"

#include <catch2/catch.hpp>

using fieldsync::server::origin_allowed;
using fieldsync::server::valid_origin_pattern;

TEST_CASE("an empty allow-list means same origin only", "[ws][origin]") {
  const std::vector<std::string> none;
  CHECK(origin_allowed(none, "", "sync.example.com", false));  // not a browser
  CHECK(origin_allowed(none, "https://sync.example.com", "sync.example.com", true));
  CHECK(origin_allowed(none, "https://Sync.Example.com", "sync.example.com:443", true));
  CHECK(origin_allowed(none, "http://127.0.0.1:8080", "127.0.0.1:8080", true));
  CHECK_FALSE(origin_allowed(none, "http://127.0.0.1:5173", "127.0.0.1:8080", true));
  CHECK_FALSE(origin_allowed(none, "https://evil.example", "sync.example.com", true));
  CHECK_FALSE(origin_allowed(none, "null", "sync.example.com", true));
  CHECK_FALSE(origin_allowed(none, "garbage", "sync.example.com", true));
}

TEST_CASE("allow-list entries: exact origins, port wildcards, *", "[ws][origin]") {
  const std::vector<std::string> list{"https://app.example.com", "http://localhost:*"};
  CHECK(origin_allowed(list, "https://app.example.com", "api.example.com", true));
  CHECK(origin_allowed(list, "https://app.example.com:443", "api.example.com", true));
  CHECK_FALSE(origin_allowed(list, "http://app.example.com", "api.example.com", true));
  CHECK_FALSE(origin_allowed(list, "https://app.example.com:8443", "api.example.com", true));
  CHECK(origin_allowed(list, "http://localhost:5173", "api.example.com", true));
  CHECK(origin_allowed(list, "http://localhost", "api.example.com", true));
  CHECK_FALSE(origin_allowed(list, "http://localhost.evil.example:80", "api.example.com", true));
  CHECK_FALSE(
      origin_allowed(list, "https://api.example.com", "api.example.com", true));  // not listed
  CHECK(origin_allowed({"*"}, "https://anything.example", "x", true));
  CHECK(origin_allowed({"null"}, "null", "x", true));
}

TEST_CASE("configured origin patterns are checked", "[ws][origin]") {
  CHECK(valid_origin_pattern("*"));
  CHECK(valid_origin_pattern("https://app.example.com"));
  CHECK(valid_origin_pattern("http://localhost:*"));
  CHECK(valid_origin_pattern("http://[::1]:8080"));
  CHECK_FALSE(valid_origin_pattern("app.example.com"));
  CHECK_FALSE(valid_origin_pattern("https://app.example.com/path"));
  CHECK_FALSE(valid_origin_pattern("https://app.example.com:port"));
  CHECK_FALSE(valid_origin_pattern(""));
}
