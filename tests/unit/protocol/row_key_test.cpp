// Canonical key text of a row.

#include "protocol/row_key.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using fieldsync::protocol::row_key;
namespace json = boost::json;

TEST_CASE("one key column gives its value's text, several give a JSON array", "[protocol][key]") {
  auto row = json::parse(R"({"id":42,"uuid":"6f1c0a4e-0000-4000-8000-000000000001",
                             "rep_id":7,"month":"2026-11-01","name":"x"})").as_object();
  CHECK(row_key(row, {"id"}).value() == "42");
  CHECK(row_key(row, {"uuid"}).value() == "6f1c0a4e-0000-4000-8000-000000000001");
  CHECK(row_key(row, {"rep_id", "month"}).value() == R"([7,"2026-11-01"])");
  CHECK(row_key(row, {"month", "rep_id"}).value() == R"(["2026-11-01",7])");
}

TEST_CASE("a missing or null key column is an error", "[protocol][key]") {
  auto row = json::parse(R"({"id":null,"a":1})").as_object();
  CHECK_FALSE(row_key(row, {"id"}));
  CHECK_FALSE(row_key(row, {"b"}));
  CHECK_FALSE(row_key(row, {"a", "id"}));
  CHECK_FALSE(row_key(row, {}));
}
