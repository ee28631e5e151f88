#include "protocol/cursor.hpp"

#include <charconv>

namespace fieldsync::protocol {

namespace {

template <typename T>
bool parse_number(std::string_view text, T& out, int base) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string cursor::to_string() const {
  char hex[17];
  auto v = position.value();
  for (int i = 15; i >= 0; --i) {
    hex[i] = "0123456789ABCDEF"[v & 0xF];
    v >>= 4;
  }
  hex[16] = '\0';
  std::string out = std::to_string(epoch) + "-" + hex;
  if (index != whole_transaction) out += "-" + std::to_string(index);
  return out;
}

std::optional<cursor> cursor::parse(std::string_view text) noexcept {
  if (text.size() > 64) return std::nullopt;
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  cursor c;
  if (!parse_number(text.substr(0, dash), c.epoch, 10) || c.epoch < 0) return std::nullopt;
  auto rest = text.substr(dash + 1);
  auto dash2 = rest.find('-');
  auto lsn_text = rest.substr(0, dash2);
  if (lsn_text.size() != 16) return std::nullopt;
  std::uint64_t v = 0;
  if (!parse_number(lsn_text, v, 16)) return std::nullopt;
  c.position = lsn(v);
  if (dash2 != std::string_view::npos) {
    if (!parse_number(rest.substr(dash2 + 1), c.index, 10) || c.index == whole_transaction) {
      return std::nullopt;
    }
  }
  return c;
}

}  // namespace fieldsync::protocol
