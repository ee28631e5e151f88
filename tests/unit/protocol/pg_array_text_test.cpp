#include "protocol/pg_array_text.hpp"

#include "protocol/value_json.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace fieldsync::protocol;
using strings = std::vector<std::string>;

// array_text_to_json is tested with the value codec (value_json_test.cpp, "arrays from
// PostgreSQL's array text"); these are the lists of strings read with the same parser.

namespace {

strings list(std::string_view text) {
  auto r = array_text_to_strings(text);
  INFO(text);
  REQUIRE(r.has_value());
  return *r;
}

boost::system::error_code list_error(std::string_view text) {
  auto r = array_text_to_strings(text);
  return r ? boost::system::error_code{} : r.error();
}

}  // namespace

TEST_CASE("a text array reads as a list of strings", "[array_text]") {
  CHECK(list("{}") == strings{});
  CHECK(list(" { } ") == strings{});
  CHECK(list("{a}") == strings{"a"});
  CHECK(list("{id,name,amount}") == strings{"id", "name", "amount"});
  CHECK(list(" { a , b } ") == strings{"a", "b"});  // space around elements is not theirs
}

TEST_CASE("quoted elements and escapes", "[array_text]") {
  CHECK(list(R"({"c d","e,f","g}h","i{j"})") == strings{"c d", "e,f", "g}h", "i{j"});
  CHECK(list(R"({"a\"b","c\\d",""})") == strings{"a\"b", "c\\d", ""});
  CHECK(list(R"({a\,b,c\ ,\"})") == strings{"a,b", "c ", "\""});  // escapes unquoted
  CHECK(list(R"({"  x "})") == strings{"  x "});
  CHECK(list("{ünï,日本}") == strings{"ünï", "日本"});
}

TEST_CASE("NULL is not a string, \"NULL\" is", "[array_text]") {
  CHECK(list(R"({"NULL","null",\NULL})") == strings{"NULL", "null", "NULL"});
  CHECK(list_error("{a,NULL}") == value_errc::bad_text);
  CHECK(list_error("{null}") == value_errc::bad_text);
  CHECK(list_error("{NuLl}") == value_errc::bad_text);
}

TEST_CASE("a list has one dimension and starts at 1", "[array_text]") {
  CHECK(list_error("{{a,b},{c,d}}") == value_errc::bad_text);
  CHECK(list_error("{{a}}") == value_errc::bad_text);
  CHECK(list_error("[0:1]={a,b}") == value_errc::bad_text);
  CHECK(list_error("[1:2]={a,b}") == value_errc::bad_text);
  // The JSON reading keeps such an array as its text instead (no element renumbered).
  const auto text_type = describe_type(oids::text);
  CHECK(array_text_to_json(text_type, "[0:1]={a,b}").value() == "[0:1]={a,b}");
  CHECK(array_text_to_json(text_type, "{{a,b},{c,d}}").value() ==
        boost::json::value{boost::json::array{"a", "b"}, boost::json::array{"c", "d"}});
}

TEST_CASE("malformed array texts are errors, never a guess", "[array_text]") {
  for (auto bad : {"", "a,b", "{a,b", "a,b}", "{a,b}x", "{,}", "{a,}", "{,a}", "{a\"b\"}",
                   "{\"a}", "{\"a\\\"}", "{a\\}", "{a b\"}", "[1:2]{a,b}", "[1:2={a,b}",
                   "{a}{b}", "{{a},b}", "{a,{b}}", "{{a},{b,c}}", "{{}}"}) {
    INFO(bad);
    CHECK(list_error(bad) == value_errc::bad_text);
  }
}
