#include "protocol/json_parse.hpp"

#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

using fieldsync::protocol::parse_json_exact;
namespace json = boost::json;

TEST_CASE("parse_json_exact reads every double exactly", "[json_parse]") {
  // Numbers Boost.JSON 1.81's own parser rounds one unit off.
  for (auto [text, expected] : {std::pair{"1.3927926388013963e-143", 1.3927926388013963e-143},
                                std::pair{"5.409760742964738e+124", 5.409760742964738e+124},
                                std::pair{"6.689921856898562e-217", 6.689921856898562e-217}}) {
    INFO(text);
    auto v = parse_json_exact(text, 64);
    REQUIRE(v);
    CHECK(v->as_double() == expected);
  }
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t bits = rng();
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    const std::string text = "[" + std::string(buf, r.ptr) + "]";
    auto v = parse_json_exact(text, 64);
    REQUIRE(v);
    INFO(text);
    REQUIRE(v->as_array()[0].as_double() == d);
  }
}

TEST_CASE("parse_json_exact builds the whole document", "[json_parse]") {
  auto v = parse_json_exact(R"( {"a": [1, -2, 18446744073709551615, 2.5, "x\u00e9", true, null],
                                  "b": {}} )",
                            64);
  REQUIRE(v);
  CHECK(json::serialize(*v) == R"({"a":[1,-2,18446744073709551615,2.5E0,"xé",true,null],"b":{}})");
  CHECK(v->at("a").as_array()[1].is_int64());
  CHECK(v->at("a").as_array()[2].is_uint64());
}

TEST_CASE("parse_json_exact errors and limits", "[json_parse]") {
  CHECK(parse_json_exact("", 64).error() == json::error::incomplete);
  CHECK(parse_json_exact("[1,", 64).has_error());
  CHECK(parse_json_exact("[1] x", 64).error() == json::error::extra_data);
  CHECK(parse_json_exact("[1] ", 64).has_value());
  CHECK(parse_json_exact("01", 64).has_error());
  CHECK(parse_json_exact("\"\xff\"", 64).has_error());  // not UTF-8
  CHECK(parse_json_exact("[[1]]", 2).has_value());
  CHECK(parse_json_exact("[[[1]]]", 2).error() == json::error::too_deep);
  CHECK(std::isinf(parse_json_exact("1e400", 64)->as_double()));
  CHECK(parse_json_exact("-1e-400", 64)->as_double() == 0);
}
