#include "storage/copy_text.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string_view>

using namespace fieldsync::storage;
using namespace std::string_view_literals;

TEST_CASE("COPY text escapes backslash, tab, newline and carriage return", "[copy_text]") {
  std::string out;
  append_copy_escaped(out, "a\tb\nc\\d\re");
  CHECK(out == "a\\tb\\nc\\\\d\\re");

  out.clear();
  append_copy_escaped(out, "plain text, 'quotes' \"too\" and ünïcødé");
  CHECK(out == "plain text, 'quotes' \"too\" and ünïcødé");

  out.clear();
  append_copy_escaped(out, "\\N");  // a value that spells the NULL marker stays a value
  CHECK(out == "\\\\N");

  out.clear();
  append_copy_escaped(out, "\\.");  // the end-of-data marker cannot appear either
  CHECK(out == "\\\\.");
}

TEST_CASE("copy_row separates columns with tabs and writes NULL as backslash-N", "[copy_text]") {
  std::string out;
  copy_row(out).integer(-42).text("x\ty").null().raw("2026-11-24").end();
  copy_row(out).text("").null().end();
  CHECK(out == "-42\tx\\ty\t\\N\t2026-11-24\n\t\\N\n");
}

TEST_CASE("array literals quote what array_in would misread", "[copy_text]") {
  CHECK(text_array_literal({}) == "{}");
  constexpr std::array plain{"KOL"sv, "digital-first"sv, "ünï"sv};
  CHECK(text_array_literal(plain) == "{KOL,digital-first,ünï}");
  constexpr std::array tricky{""sv, "NULL"sv, "null"sv, "key account"sv, "say \"hi\""sv, "back\\slash"sv,
                              "a,b"sv, "{x}"sv, "tab\there"sv};
  CHECK(text_array_literal(tricky) ==
        R"({"","NULL","null","key account","say \"hi\"","back\\slash","a,b","{x}","tab	here"})");

  // In a COPY column the literal's own backslashes are escaped once more.
  std::string out;
  constexpr std::array one{"back\\slash"sv};
  copy_row(out).text_array(one).end();
  CHECK(out == "{\"back\\\\\\\\slash\"}\n");
}

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[copy_text]") {
  std::string out;
  append_json_string(out, "Dermacort 0.1% cream");
  CHECK(out == "\"Dermacort 0.1% cream\"");
  out.clear();
  append_json_string(out, "a\"b\\c\nd\x01");
  CHECK(out == R"("a\"b\\c\nd\u0001")");
}
