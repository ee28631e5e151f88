#include "server/pull/shape_offset.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace fieldsync::server {

namespace {

template <typename T>
bool parse_number(std::string_view text, T& out, int base = 10) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string shape_offset::to_string() const {
  switch (k) {
    case kind::before_all:
      return "-1";
    case kind::now:
      return "now";
    case kind::snapshot:
      return "0_" + std::to_string(rows);
    case kind::log:
      break;
  }
  std::uint64_t sub = index == protocol::cursor::whole_transaction ? 0 : std::uint64_t(index) + 1;
  return std::to_string(lsn.value()) + "_" + std::to_string(sub);
}

std::optional<shape_offset> shape_offset::parse(std::string_view text) noexcept {
  if (text == "-1") return shape_offset{};
  if (text == "now") return shape_offset{kind::now, 0, {}, {}};
  auto us = text.find('_');
  if (us == std::string_view::npos) return std::nullopt;
  std::uint64_t l = 0, sub = 0;
  if (!parse_number(text.substr(0, us), l) || !parse_number(text.substr(us + 1), sub)) {
    return std::nullopt;
  }
  if (l == 0 && sub > 0) {
    // Rows to skip reach SQL as a bigint.
    if (sub > std::uint64_t(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return snapshot_rows(sub);
  }
  shape_offset o{kind::log, 0, protocol::lsn(l), protocol::cursor::whole_transaction};
  if (sub > 0) {
    if (sub > protocol::cursor::whole_transaction) return std::nullopt;
    o.index = static_cast<std::uint32_t>(sub - 1);
  }
  return o;
}

std::string shape_handle::to_string() const {
  char hex[17];
  auto v = definition;
  for (int i = 15; i >= 0; --i) {
    hex[i] = "0123456789abcdef"[v & 0xF];
    v >>= 4;
  }
  hex[16] = '\0';
  return std::to_string(epoch) + "-" + std::to_string(as_of.value()) + "-" + hex;
}

std::optional<shape_handle> shape_handle::parse(std::string_view text) noexcept {
  auto a = text.find('-');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = text.find('-', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  shape_handle h;
  std::uint64_t l = 0;
  if (!parse_number(text.substr(0, a), h.epoch) || h.epoch < 0 ||
      !parse_number(text.substr(a + 1, b - a - 1), l) || text.size() - b - 1 != 16 ||
      !parse_number(text.substr(b + 1), h.definition, 16)) {
    return std::nullopt;
  }
  h.as_of = protocol::lsn(l);
  return h;
}

std::uint64_t shape_definition_hash(std::string_view table, std::string_view where,
                                    std::string_view params, std::string_view columns) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
    h *= 1099511628211ull;
  };
  mix(table);
  mix(where);
  mix(params);
  mix(columns);
  return h;
}

}  // namespace fieldsync::server
