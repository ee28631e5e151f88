#include "server/access/token_time.hpp"

#include <algorithm>
#include <cmath>

namespace fieldsync::server {

namespace {

constexpr std::int64_t clamp_seconds(std::int64_t s) noexcept {
  return std::clamp<std::int64_t>(s, -numeric_date_limit, numeric_date_limit);
}

}  // namespace

std::optional<std::int64_t> numeric_date_seconds(const boost::json::value& v) noexcept {
  if (v.is_int64()) return clamp_seconds(v.get_int64());
  if (v.is_uint64()) {
    // Above INT64_MAX, hence above the limit.
    return v.get_uint64() > static_cast<std::uint64_t>(numeric_date_limit)
               ? numeric_date_limit
               : static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    // Compared as a double before any conversion: casting 1e300 to an integer is undefined.
    // JSON has no NaN or infinity, but a double from elsewhere might.
    const double d = std::floor(v.get_double());
    if (std::isnan(d)) return std::nullopt;
    if (d >= static_cast<double>(numeric_date_limit)) return numeric_date_limit;
    if (d <= -static_cast<double>(numeric_date_limit)) return -numeric_date_limit;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

claim_date_status read_claim_date(const boost::json::object& claims, std::string_view name,
                                  std::int64_t& out) noexcept {
  const auto* v = claims.if_contains(name);
  if (!v) return claim_date_status::absent;
  auto s = numeric_date_seconds(*v);
  if (!s) return claim_date_status::malformed;
  out = *s;
  return claim_date_status::present;
}

std::chrono::system_clock::time_point time_of_seconds(std::int64_t seconds) noexcept {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(clamp_seconds(seconds))));
}

std::chrono::system_clock::time_point time_of_micros(std::int64_t micros) noexcept {
  constexpr std::int64_t limit = numeric_date_limit * 1'000'000;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(std::clamp<std::int64_t>(micros, -limit, limit))));
}

std::int64_t seconds_of(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace fieldsync::server
