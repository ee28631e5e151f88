// The state check's canonical row text and digest against the vectors JavaScript computed
// (tests/fixtures/digest/vectors.json, made by make_vectors.mjs beside it); the web SDK's
// unit tests check the same file.

#include "protocol/row_digest.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

json::object vectors() {
  std::ifstream in(std::string(FIELDSYNC_FIXTURES_DIR) + "/digest/vectors.json");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str()).as_object();
}

}  // namespace

TEST_CASE("canonical row text and row hash match JavaScript's", "[protocol][digest]") {
  auto v = vectors();
  const auto& rows = v.at("rows").as_array();
  REQUIRE(rows.size() >= 10);
  for (const auto& r : rows) {
    const auto& o = r.as_object();
    std::string key(o.at("key").as_string());
    std::string text(o.at("json").as_string());
    INFO("row " << key << ": " << text);
    auto canonical = canonical_row_text(text);
    REQUIRE(canonical);
    CHECK(*canonical == std::string(o.at("canonical").as_string()));
    row_digest d;
    d.add(row_hash(key, *canonical));
    CHECK(d.hex() == std::string(o.at("hash").as_string()));
  }
}

TEST_CASE("a set's digest is the same in any order and differs when a row does", "[protocol][digest]") {
  auto v = vectors();
  for (const auto& s : v.at("sets").as_array()) {
    const auto& o = s.as_object();
    INFO("set " << o.at("name").as_string());
    row_digest d;
    for (const auto& r : o.at("rows").as_array()) {
      auto canonical = canonical_row_text(r.at("json").as_string());
      REQUIRE(canonical);
      d.add(row_hash(r.at("key").as_string(), *canonical));
    }
    CHECK(d.rows() == static_cast<std::uint64_t>(o.at("count").as_int64()));
    CHECK(d.hex() == std::string(o.at("digest").as_string()));
  }
}

TEST_CASE("numbers print as Number#toString does", "[protocol][digest]") {
  CHECK(js_number_text(0.0) == "0");
  CHECK(js_number_text(-0.0) == "0");
  CHECK(js_number_text(1.0) == "1");
  CHECK(js_number_text(-1.5) == "-1.5");
  CHECK(js_number_text(1e21) == "1e+21");
  CHECK(js_number_text(1e20) == "100000000000000000000");
  CHECK(js_number_text(123e-20) == "1.23e-18");
  CHECK(js_number_text(0.000001) == "0.000001");
  CHECK(js_number_text(1e-7) == "1e-7");
  CHECK(js_number_text(0.1 + 0.2) == "0.30000000000000004");
  CHECK(js_number_text(5e-324) == "5e-324");
}

TEST_CASE("text that is not one JSON value is refused", "[protocol][digest]") {
  CHECK_FALSE(canonical_row_text(""));
  CHECK_FALSE(canonical_row_text("{"));
  CHECK_FALSE(canonical_row_text("{\"a\":1,}"));
  CHECK_FALSE(canonical_row_text("[1 2]"));
  CHECK_FALSE(canonical_row_text("{\"a\":1} x"));
  CHECK_FALSE(canonical_row_text("\"\\ud800\""));  // a lone surrogate
  CHECK_FALSE(canonical_row_text("01x"));
  CHECK_FALSE(canonical_row_text(std::string(100, '[') + std::string(100, ']')));
  CHECK(canonical_row_text(std::string(60, '[') + std::string(60, ']')));
}
