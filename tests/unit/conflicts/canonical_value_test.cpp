#include "conflicts/canonical_value.hpp"

#include "merge_test_support.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::conflicts;
using fieldsync::conflicts::test::j;
using fieldsync::conflicts::test::type_of;
using fieldsync::protocol::type_class;

namespace {

const auto numeric = type_of(type_class::numeric);
const auto numeric_array = type_of(type_class::array, type_class::numeric);

}  // namespace

TEST_CASE("numbers are the same by exact value, whatever their JSON spelling", "[value]") {
  CHECK(same_value(j("12"), j("12.0")));
  CHECK(same_value(j("1.2e1"), j("12")));
  CHECK(same_value(j("0.1"), j("1e-1")));
  CHECK(same_value(j("-0.0"), j("0")));
  CHECK(same_value(j("18446744073709551615"), j("18446744073709551615")));
  CHECK_FALSE(same_value(j("9007199254740993"), j("9007199254740992")));  // int8 stays exact
  CHECK(same_value(j("0.1"), j("0.10000000000000001")));                  // one and the same double
  CHECK_FALSE(same_value(j("1"), j("true")));
  CHECK_FALSE(same_value(j("0"), j("null")));
}

TEST_CASE("strings are text unless the column is numeric", "[value]") {
  CHECK_FALSE(same_value(j(R"("01234")"), j(R"("1234")")));  // a postal code is not a number
  CHECK_FALSE(same_value(j(R"("12.50")"), j(R"("12.5")")));
  CHECK_FALSE(same_value(j(R"("12.5")"), j("12.5")));
  CHECK(same_value(j(R"("12.50")"), j(R"("12.5")"), numeric));
  CHECK(same_value(j(R"("12.50")"), j("12.5"), numeric));
  CHECK(same_value(j("12.5"), j(R"("12.50")"), numeric));
  CHECK(same_value(j(R"("100000000000000000000.10")"), j(R"("100000000000000000000.1")"), numeric));
  CHECK_FALSE(same_value(j(R"("NaN")"), j("0"), numeric));
  CHECK(same_value(j(R"("NaN")"), j(R"("NaN")"), numeric));
  CHECK(same_value(j(R"(["1.0", 2])"), j(R"([1, "2.00"])"), numeric_array));
  CHECK_FALSE(same_value(j(R"(["1.0", 2])"), j(R"([1, "2.00"])")));
  CHECK(same_value(j(R"("a")"), j(R"("a")"), type_of(type_class::text)));
}

TEST_CASE("arrays are ordered, objects are not", "[value]") {
  CHECK(same_value(j("[1, 2, 3]"), j("[1.0, 2, 3]")));
  CHECK_FALSE(same_value(j("[1, 2, 3]"), j("[3, 2, 1]")));
  CHECK_FALSE(same_value(j("[1, 2]"), j("[1, 2, 2]")));
  CHECK(same_value(j(R"({"a": 1, "b": [true, null]})"), j(R"({"b": [true, null], "a": 1.0})")));
  CHECK_FALSE(same_value(j(R"({"a": 1})"), j(R"({"a": 1, "b": null})")));
  // Inside a json value, strings are text even in a numeric column's type hint.
  CHECK_FALSE(same_value(j(R"({"a": "1.0"})"), j(R"({"a": "1"})"), numeric));
  CHECK_FALSE(same_value(j("[]"), j("{}")));
  CHECK_FALSE(same_value(j("[]"), j("null")));
  CHECK_FALSE(same_value(j(R"("")"), j("null")));
}

TEST_CASE("canonical forms are injective on tricky strings", "[value]") {
  // Strings that look like the encoding's own punctuation stay apart.
  CHECK_FALSE(same_value(j(R"(["a,b"])"), j(R"(["a", "b"])")));
  CHECK_FALSE(same_value(j(R"({"a": "b,c=d"})"), j(R"({"a": "b", "c": "d"})")));
  CHECK_FALSE(same_value(j(R"("1")"), j("1")));
  CHECK_FALSE(same_value(j(R"("null")"), j("null")));
  CHECK_FALSE(same_value(j(R"("#1")"), j("1")));
}

TEST_CASE("compare_values is a total order consistent with same_value", "[value]") {
  auto values = {j("null"),   j("true"),   j("false"), j("1"),          j("1.0"),          j("-2"),
                 j(R"("1")"), j(R"("a")"), j("[1]"),   j(R"({"a":1})"), j(R"({"a":1.0})"), j("[]")};
  for (const auto& a : values) {
    for (const auto& b : values) {
      CHECK((compare_values(a, b) == 0) == same_value(a, b));
      CHECK(compare_values(a, b) == (0 <=> compare_values(b, a)));
    }
  }
}
