#include "storage/civil_time.hpp"

#include "protocol/civil_calendar.hpp"

namespace fieldsync::storage {

using protocol::civil_date;
using protocol::civil_from_days;
using protocol::floor_div;

namespace {

void append_digits(std::string& out, std::int64_t v, int width) {
  char buf[20];
  int n = 0;
  bool negative = v < 0;
  std::uint64_t u = negative ? static_cast<std::uint64_t>(-v) : static_cast<std::uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0 && n < 20);
  if (negative) out += '-';
  for (int i = n; i < width; ++i) out += '0';
  while (n > 0) out += buf[--n];
}

}  // namespace

std::string format_date(std::int64_t days) {
  const civil_date d = civil_from_days(days);
  std::string out;
  out.reserve(10);
  append_digits(out, d.year, 4);
  out += '-';
  append_digits(out, d.month, 2);
  out += '-';
  append_digits(out, d.day, 2);
  return out;
}

std::string format_timestamp(std::int64_t seconds) {
  const std::int64_t days = floor_div(seconds, 86400);
  const std::int64_t rest = seconds - days * 86400;
  std::string out = format_date(days);
  out += ' ';
  append_digits(out, rest / 3600, 2);
  out += ':';
  append_digits(out, rest / 60 % 60, 2);
  out += ':';
  append_digits(out, rest % 60, 2);
  out += "+00";
  return out;
}

}  // namespace fieldsync::storage
