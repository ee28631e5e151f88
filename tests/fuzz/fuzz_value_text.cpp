// libFuzzer target: column values (protocol/value_json.hpp) over every type class.
// Input: one byte choosing the type (every known type, then one fieldsync does not know),
// then the value. The bytes go through both directions:
//   - as PostgreSQL text: when text_to_json takes it, json_to_text must take the JSON and
//     give text that converts to the same JSON again (the round trip clients rely on);
//   - as a client's JSON document: json_to_text must give text or an error code.
#include "protocol/value_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

column_type pick_type(std::uint8_t selector) {
  const auto known = known_column_types();
  if (selector % (known.size() + 1) == known.size()) return describe_type(16390);
  return known[selector % (known.size() + 1)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const column_type type = pick_type(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto j = text_to_json(type, text);
  if (j) {
    auto back = json_to_text(type, *j);
    if (!back) __builtin_trap();
    auto again = text_to_json(type, *back);
    if (!again || json::serialize(*again) != json::serialize(*j)) __builtin_trap();
  } else if (!j && j.error().category() != value_category()) {
    __builtin_trap();
  }

  json::parse_options options;
  options.max_depth = 100;  // deeper than fieldsync takes, so the limit is exercised
  boost::system::error_code ec;
  auto doc = json::parse(text, ec, {}, options);
  if (!ec) {
    auto t = json_to_text(type, doc);
    if (!t && t.error().category() != value_category()) __builtin_trap();
  }
  return 0;
}
