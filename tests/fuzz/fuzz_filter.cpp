// libFuzzer target: the filter language with parameters (protocol/filter/filter.hpp), as a
// client reaches it: a `where` text, its `params` and a row, all chosen by the fuzzer.
// Input: a mode byte, then parts separated by NUL bytes.
//   mode even: FILTER \0 PARAMS \0 ROW. The filter is parsed and checked against a
//     collection with a column of every filter domain (and a few only IS NULL may test);
//     PARAMS (JSON; an array is the $n values, an object the $claims, anything else one $1)
//     are bound; the bound filter is evaluated on ROW (a JSON object), compiled to SQL and
//     indexed. Nothing may crash, throw or trip ASan/UBSan, limits hold (a filter that
//     binds stays within max_bound_bytes), and a bound filter gives the same answer twice.
//   mode odd: PATTERN \0 TEXT. LIKE through like_pattern against a definition by dynamic
//     programming over the same characters, for short inputs (the automaton must agree).
#include "protocol/filter/filter.hpp"
#include "protocol/filter/filter_like.hpp"
#include "protocol/pg_type.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

const collection_schema& schema() {
  static const collection_schema s = [] {
    collection_schema c;
    c.name = "fuzz";
    c.schema_name = "public";
    c.table_name = "fuzz";
    c.primary_key = {"id"};
    const std::pair<const char*, type_oid> columns[] = {
        {"id", oids::int8},   {"i4", oids::int4},        {"i2", oids::int2},
        {"t", oids::text},    {"v", oids::varchar},      {"c", oids::bpchar},
        {"n", oids::numeric}, {"f8", oids::float8},      {"f4", oids::float4},
        {"b", oids::bool_},   {"ts", oids::timestamptz}, {"lt", oids::timestamp},
        {"d", oids::date},    {"tm", oids::time},        {"u", oids::uuid},
        {"j", oids::jsonb},   {"iv", oids::interval},    {"arr", 1009},
    };
    for (const auto& [name, oid] : columns) {
      column_schema col;
      col.name = name;
      col.type = describe_type(oid);
      c.columns.push_back(std::move(col));
    }
    return c;
  }();
  return s;
}

std::vector<std::string_view> split(std::string_view s, std::size_t parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < parts) {
    const auto at = s.find('\0');
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  out.push_back(s);
  while (out.size() < parts) out.emplace_back();
  return out;
}

json::value parse_or_null(std::string_view text) {
  json::parse_options options;
  options.max_depth = 16;
  boost::system::error_code ec;
  auto v = json::parse(text, ec, {}, options);
  return ec ? json::value() : v;
}

std::size_t char_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return i + n <= s.size() ? n : s.size() - i;
}

std::vector<std::string_view> chars_of(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto n = char_length(s, i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// LIKE by its definition: m[j] is whether the first j pattern items match what was read.
bool like_reference(std::string_view text, std::string_view pattern) {
  struct item {
    std::string_view c;
    bool wild;
  };
  std::vector<item> p;
  const auto pc = chars_of(pattern);
  for (std::size_t i = 0; i < pc.size(); ++i) {
    if (pc[i] == "\\" && i + 1 < pc.size()) {
      p.push_back({pc[++i], false});
    } else {
      p.push_back({pc[i], pc[i] == "%" || pc[i] == "_"});
    }
  }
  std::vector<char> m(p.size() + 1, 0), next(p.size() + 1, 0);
  m[0] = 1;
  for (std::size_t j = 0; j < p.size() && p[j].wild && p[j].c == "%"; ++j) m[j + 1] = 1;
  for (const auto ch : chars_of(text)) {
    next.assign(p.size() + 1, 0);
    for (std::size_t j = 1; j <= p.size(); ++j) {
      const item& it = p[j - 1];
      if (it.wild && it.c == "%") {
        next[j] = static_cast<char>(m[j] || next[j - 1]);
      } else if ((it.wild && it.c == "_") || it.c == ch) {
        next[j] = m[j - 1];
      }
    }
    m.swap(next);
  }
  return m[p.size()] != 0;
}

void fuzz_like(std::string_view input) {
  const auto parts = split(input, 2);
  const auto pattern = parts[0];
  const auto text = parts[1];
  if (like_pattern_error(pattern)) return;
  const auto compiled = like_pattern::compile(pattern);
  if (!compiled) {
    if (pattern.size() <= like_pattern::max_pattern_chars) __builtin_trap();
    return;
  }
  const bool got = compiled->match(text);
  if (pattern.size() <= 64 && text.size() <= 256 && got != like_reference(text, pattern)) {
    __builtin_trap();
  }
}

void fuzz_filter(std::string_view input) {
  const auto parts = split(input, 3);
  filter_limits limits;
  auto checked = prepare_filter(parts[0], schema(), limits);
  if (!checked) return;

  json::array params;
  json::object claims;
  auto p = parse_or_null(parts[1]);
  if (p.is_array()) {
    params = std::move(p.get_array());
  } else if (p.is_object()) {
    claims = std::move(p.get_object());
  } else {
    params.push_back(std::move(p));
  }
  auto bound = bind_filter(*checked, params, claims);
  if (!bound) return;
  if (bound->bound_bytes > limits.max_bound_bytes) __builtin_trap();

  auto row = parse_or_null(parts[2]);
  if (row.is_object()) {
    const auto first = evaluate(*bound, row.get_object());
    if (evaluate(*bound, row.get_object()) != first) __builtin_trap();
    if (const auto c = bound->constant(); c && *c != first) __builtin_trap();
  }
  sql_params sql;
  const auto text = compile_sql(
      *bound, [](const column_schema& c) { return quote_identifier(c.name); }, sql);
  if (text.empty() || text.front() != '(') __builtin_trap();
  (void)equality_constraints(*bound);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 1) {
    fuzz_like(input);
  } else {
    fuzz_filter(input);
  }
  return 0;
}
