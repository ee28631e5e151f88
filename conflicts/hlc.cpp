#include "conflicts/hlc.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

namespace fieldsync::conflicts {

namespace {

class hlc_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.hlc"; }
  std::string message(int ev) const override {
    switch (static_cast<hlc_errc>(ev)) {
      case hlc_errc::malformed:
        return "malformed hybrid logical clock";
      case hlc_errc::bad_time:
        return "hybrid logical clock time out of range";
      case hlc_errc::bad_counter:
        return "bad hybrid logical clock counter";
      case hlc_errc::bad_node:
        return "bad hybrid logical clock node";
      case hlc_errc::counter_overflow:
        return "hybrid logical clock counter overflow";
      case hlc_errc::clock_drift:
        return "hybrid logical clock too far ahead of wall time";
    }
    return "unknown hlc error";
  }
};

constexpr std::int64_t ms_per_day = 86'400'000;
constexpr std::size_t time_size = 24;   // "2026-11-25T11:04:51.123Z"
constexpr std::size_t counter_at = 25;  // after the time and '-'
constexpr std::size_t node_at = 30;     // after the counter and '-'

bool valid_node(std::string_view node) noexcept {
  if (node.empty() || node.size() > hlc::max_node_size) return false;
  return std::all_of(node.begin(), node.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

// Reads exactly n decimal digits; -1 if any is not a digit.
int digits(std::string_view s, std::size_t at, std::size_t n) noexcept {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

boost::system::result<std::int64_t> parse_time(std::string_view s) {
  static constexpr std::pair<std::size_t, char> separators[] = {
      {4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'}, {16, ':'}, {19, '.'}, {23, 'Z'}};
  for (auto [at, sep] : separators) {
    if (s[at] != sep) return hlc_errc::malformed;
  }
  int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
  int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  int milli = digits(s, 20, 3);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || milli < 0) {
    return hlc_errc::bad_time;
  }
  std::chrono::year_month_day ymd{std::chrono::year{year},
                                  std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  // No leap seconds: Unix time, like Date in browsers, has none.
  if (year < 1970 || !ymd.ok() || hour > 23 || minute > 59 || second > 59) {
    return hlc_errc::bad_time;
  }
  std::int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return days * ms_per_day + ((hour * 60 + minute) * 60 + second) * std::int64_t{1000} + milli;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const boost::system::error_category& hlc_category() noexcept {
  static const hlc_category_impl instance;
  return instance;
}

boost::system::result<hlc> hlc::make(std::int64_t physical_ms, std::uint32_t counter,
                                     std::string_view node) {
  if (physical_ms < 0 || physical_ms > max_physical_ms) return hlc_errc::bad_time;
  if (counter > max_counter) return hlc_errc::bad_counter;
  if (!valid_node(node)) return hlc_errc::bad_node;
  return hlc{physical_ms, counter, std::string(node)};
}

boost::system::result<hlc> hlc::parse(std::string_view text) {
  if (text.size() < node_at + 1 || text.size() > max_text_size) return hlc_errc::malformed;
  if (text[time_size] != '-' || text[node_at - 1] != '-') return hlc_errc::malformed;
  auto physical = parse_time(text.substr(0, time_size));
  if (!physical) return physical.error();
  std::uint32_t counter = 0;
  for (std::size_t i = counter_at; i < counter_at + 4; ++i) {
    int d = hex_digit(text[i]);
    if (d < 0) return hlc_errc::bad_counter;
    counter = counter * 16 + static_cast<std::uint32_t>(d);
  }
  return make(*physical, counter, text.substr(node_at));
}

std::string hlc::to_string() const {
  std::chrono::sys_days days{std::chrono::days{physical_ms_ / ms_per_day}};
  std::chrono::year_month_day ymd{days};
  std::int64_t in_day = physical_ms_ % ms_per_day;
  char buf[max_text_size + 1];
  int n =
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ-%04X-%s",
                    static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                    static_cast<unsigned>(ymd.day()), static_cast<int>(in_day / 3'600'000),
                    static_cast<int>(in_day / 60'000 % 60), static_cast<int>(in_day / 1000 % 60),
                    static_cast<int>(in_day % 1000), counter_, node_.c_str());
  return std::string(buf, static_cast<std::size_t>(n));
}

boost::system::result<hlc> hlc::send(std::int64_t now_ms) const {
  if (now_ms < 0 || now_ms > max_physical_ms) return hlc_errc::bad_time;
  if (now_ms > physical_ms_) return hlc{now_ms, 0, node_};
  if (counter_ == max_counter) return hlc_errc::counter_overflow;
  return hlc{physical_ms_, counter_ + 1, node_};
}

boost::system::result<hlc> hlc::receive(const hlc& remote, std::int64_t now_ms,
                                        std::int64_t max_drift_ms) const {
  if (now_ms < 0 || now_ms > max_physical_ms) return hlc_errc::bad_time;
  // Compared as a difference so that a huge max_drift_ms cannot overflow.
  if (remote.physical_ms_ > now_ms && remote.physical_ms_ - now_ms > max_drift_ms) {
    return hlc_errc::clock_drift;
  }
  std::int64_t physical = std::max({physical_ms_, remote.physical_ms_, now_ms});
  std::uint32_t counter = 0;
  if (physical == physical_ms_ && physical == remote.physical_ms_) {
    counter = std::max(counter_, remote.counter_);
  } else if (physical == physical_ms_) {
    counter = counter_;
  } else if (physical == remote.physical_ms_) {
    counter = remote.counter_;
  } else {
    return hlc{physical, 0, node_};
  }
  if (counter == max_counter) return hlc_errc::counter_overflow;
  return hlc{physical, counter + 1, node_};
}

std::strong_ordering operator<=>(const hlc& a, const hlc& b) noexcept {
  if (auto c = a.physical_ms_ <=> b.physical_ms_; c != 0) return c;
  if (auto c = a.counter_ <=> b.counter_; c != 0) return c;
  return a.node_.compare(b.node_) <=> 0;
}

}  // namespace fieldsync::conflicts
