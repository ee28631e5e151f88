#include "protocol/walsender_message.hpp"

namespace fieldsync::protocol {

namespace {

class walsender_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.walsender"; }
  std::string message(int ev) const override {
    switch (static_cast<walsender_errc>(ev)) {
      case walsender_errc::empty: return "empty replication message";
      case walsender_errc::truncated: return "truncated replication message";
      case walsender_errc::trailing_bytes: return "replication message has trailing bytes";
      case walsender_errc::unknown_type: return "unknown replication message type";
    }
    return "unknown walsender error";
  }
};

std::uint64_t read_u64(std::span<const std::uint8_t> b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | b[at + i];
  return v;
}

void write_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// type byte + start + end + time
constexpr std::size_t xlog_header_size = 1 + 8 + 8 + 8;
// type byte + end + time + reply flag
constexpr std::size_t keepalive_size = 1 + 8 + 8 + 1;

}  // namespace

const boost::system::error_category& walsender_category() noexcept {
  static const walsender_category_impl instance;
  return instance;
}

pg_timestamp to_pg_timestamp(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us - pg_epoch_unix_seconds * 1'000'000;
}

std::chrono::system_clock::time_point from_pg_timestamp(pg_timestamp ts) {
  return std::chrono::system_clock::time_point(
      std::chrono::microseconds(ts + pg_epoch_unix_seconds * 1'000'000));
}

boost::system::result<walsender_message> decode_walsender_message(
    std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return walsender_errc::empty;
  switch (bytes[0]) {
    case 'w': {
      if (bytes.size() < xlog_header_size) return walsender_errc::truncated;
      xlog_data d;
      d.wal_start = lsn{read_u64(bytes, 1)};
      d.wal_end = lsn{read_u64(bytes, 9)};
      d.send_time = static_cast<pg_timestamp>(read_u64(bytes, 17));
      d.payload = bytes.subspan(xlog_header_size);
      return walsender_message{d};
    }
    case 'k': {
      if (bytes.size() < keepalive_size) return walsender_errc::truncated;
      if (bytes.size() > keepalive_size) return walsender_errc::trailing_bytes;
      primary_keepalive k;
      k.wal_end = lsn{read_u64(bytes, 1)};
      k.send_time = static_cast<pg_timestamp>(read_u64(bytes, 9));
      k.reply_requested = bytes[17] != 0;
      return walsender_message{k};
    }
    default:
      return walsender_errc::unknown_type;
  }
}

std::string encode_standby_status_update(lsn written, lsn flushed, lsn applied,
                                         pg_timestamp now, bool reply_requested) {
  std::string out;
  out.reserve(1 + 8 * 4 + 1);
  out.push_back('r');
  write_u64(out, written.value());
  write_u64(out, flushed.value());
  write_u64(out, applied.value());
  write_u64(out, static_cast<std::uint64_t>(now));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

}  // namespace fieldsync::protocol
