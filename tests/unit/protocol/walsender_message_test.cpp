#include "protocol/walsender_message.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace fieldsync::protocol;

namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> b) {
  std::vector<std::uint8_t> out;
  for (int x : b) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

}  // namespace

TEST_CASE("XLogData carries its positions and the payload", "[walsender]") {
  auto msg = bytes({'w', 0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0x20,
                    0, 0, 0, 0, 0, 0, 0, 5, 'B', 'x'});
  auto r = decode_walsender_message(msg);
  REQUIRE(r.has_value());
  auto& d = std::get<xlog_data>(*r);
  CHECK(d.wal_start.to_string() == "1/10");
  CHECK(d.wal_end.to_string() == "1/20");
  CHECK(d.send_time == 5);
  REQUIRE(d.payload.size() == 2);
  CHECK(d.payload[0] == 'B');
}

TEST_CASE("primary keepalive with and without a reply request", "[walsender]") {
  auto msg = bytes({'k', 0, 0, 0, 0, 0, 0, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 9, 1});
  auto r = decode_walsender_message(msg);
  REQUIRE(r.has_value());
  auto& k = std::get<primary_keepalive>(*r);
  CHECK(k.wal_end.value() == 0x30);
  CHECK(k.send_time == 9);
  CHECK(k.reply_requested);
  msg.back() = 0;
  CHECK_FALSE(std::get<primary_keepalive>(*decode_walsender_message(msg)).reply_requested);
}

TEST_CASE("malformed walsender messages are error codes", "[walsender]") {
  CHECK(decode_walsender_message({}).error() == walsender_errc::empty);
  CHECK(decode_walsender_message(bytes({'x'})).error() == walsender_errc::unknown_type);
  auto keepalive = bytes({'k', 0, 0, 0, 0, 0, 0, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 9, 1});
  for (std::size_t n = 1; n < keepalive.size(); ++n) {
    CHECK(decode_walsender_message(std::span(keepalive).first(n)).error() == walsender_errc::truncated);
  }
  keepalive.push_back(0);
  CHECK(decode_walsender_message(keepalive).error() == walsender_errc::trailing_bytes);
  for (std::size_t n = 1; n < 25; ++n) {
    std::vector<std::uint8_t> w(n, 0);
    w[0] = 'w';
    CHECK(decode_walsender_message(w).error() == walsender_errc::truncated);
  }
}

TEST_CASE("standby status update layout", "[walsender]") {
  auto out = encode_standby_status_update(lsn{0x100}, lsn{0x80}, lsn{0x80}, 7, true);
  REQUIRE(out.size() == 34);
  CHECK(out[0] == 'r');
  CHECK(static_cast<unsigned char>(out[8]) == 0x00);
  CHECK(static_cast<unsigned char>(out[7]) == 0x01);   // written = 0x100
  CHECK(static_cast<unsigned char>(out[16]) == 0x80);  // flushed = 0x80
  CHECK(static_cast<unsigned char>(out[32]) == 7);     // time
  CHECK(out[33] == 1);
}

TEST_CASE("PostgreSQL timestamps count microseconds from 2000-01-01 UTC", "[walsender]") {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(pg_epoch_unix_seconds));
  CHECK(to_pg_timestamp(t) == 0);
  CHECK(from_pg_timestamp(1'000'000) == t + std::chrono::seconds(1));
}
