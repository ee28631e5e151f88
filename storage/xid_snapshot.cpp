#include "storage/xid_snapshot.hpp"

#include <algorithm>
#include <charconv>

namespace fieldsync::storage {

namespace {

bool parse_xid(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// xid a precedes b, modulo 2^32 (PostgreSQL's TransactionIdPrecedes for normal xids).
bool precedes(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) < 0;
}

}  // namespace

std::optional<xid_snapshot> xid_snapshot::parse(std::string_view text) {
  xid_snapshot s;
  auto c1 = text.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  auto c2 = text.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return std::nullopt;
  if (!parse_xid(text.substr(0, c1), s.xmin_) ||
      !parse_xid(text.substr(c1 + 1, c2 - c1 - 1), s.xmax_) || s.xmin_ > s.xmax_) {
    return std::nullopt;
  }
  auto rest = text.substr(c2 + 1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::uint64_t x = 0;
    if (!parse_xid(rest.substr(0, comma), x) || x < s.xmin_ || x >= s.xmax_) return std::nullopt;
    s.xip_.push_back(x);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return std::nullopt;  // a trailing comma
  }
  std::sort(s.xip_.begin(), s.xip_.end());
  return s;
}

bool xid_snapshot::sees(std::uint32_t xid) const noexcept {
  auto xmin = static_cast<std::uint32_t>(xmin_);
  auto xmax = static_cast<std::uint32_t>(xmax_);
  if (precedes(xid, xmin)) return true;
  if (!precedes(xid, xmax)) return false;
  // Between xmin and xmax: seen unless it was running. Recover its 64-bit value from xmax.
  std::uint64_t full = xmax_ - static_cast<std::uint32_t>(xmax - xid);
  return !std::binary_search(xip_.begin(), xip_.end(), full);
}

std::string xid_snapshot::to_string() const {
  std::string out = std::to_string(xmin_) + ":" + std::to_string(xmax_) + ":";
  for (std::size_t i = 0; i < xip_.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(xip_[i]);
  }
  return out;
}

}  // namespace fieldsync::storage
