#pragma once
// The streaming-replication framing inside CopyData (PostgreSQL docs, "Streaming
// Replication Protocol"): what the walsender sends ('w' XLogData, 'k' primary keepalive)
// and the standby status update ('r') that fieldsync sends back. Pure: bytes in, values
// or error codes out.

#include "protocol/lsn.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace fieldsync::protocol {

// Microseconds since 2000-01-01 00:00:00 UTC: PostgreSQL's TimestampTz on the wire.
using pg_timestamp = std::int64_t;

inline constexpr std::int64_t pg_epoch_unix_seconds = 946'684'800;

pg_timestamp to_pg_timestamp(std::chrono::system_clock::time_point t);
std::chrono::system_clock::time_point from_pg_timestamp(pg_timestamp ts);

enum class walsender_errc {
  empty = 1,       // a CopyData message without a type byte
  truncated,       // shorter than its type requires
  trailing_bytes,  // a keepalive longer than its fixed size
  unknown_type,    // neither 'w' nor 'k'
};

const boost::system::error_category& walsender_category() noexcept;
inline boost::system::error_code make_error_code(walsender_errc e) noexcept {
  return {static_cast<int>(e), walsender_category()};
}

// 'w': one piece of WAL data; for pgoutput, one logical replication message.
struct xlog_data {
  lsn wal_start;
  lsn wal_end;
  pg_timestamp send_time = 0;
  std::span<const std::uint8_t> payload;  // points into the decoded buffer
};

// 'k': the server's position; reply_requested asks for a status update at once.
struct primary_keepalive {
  lsn wal_end;
  pg_timestamp send_time = 0;
  bool reply_requested = false;
};

using walsender_message = std::variant<xlog_data, primary_keepalive>;

// Decodes the contents of one CopyData message from the walsender.
boost::system::result<walsender_message> decode_walsender_message(
    std::span<const std::uint8_t> bytes);

// 'r': standby status update. `flushed` is what is durably stored (fieldsync: the resume
// LSN committed in the change log, never more); the slot's confirmed_flush_lsn follows it.
std::string encode_standby_status_update(lsn written, lsn flushed, lsn applied,
                                         pg_timestamp now, bool reply_requested);

}  // namespace fieldsync::protocol

template <>
struct boost::system::is_error_code_enum<fieldsync::protocol::walsender_errc> : std::true_type {};
