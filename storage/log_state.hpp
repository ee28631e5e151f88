#pragma once
// The ingest's durable state in the storage database (fieldsync.state): epoch, slot,
// resume and high-water positions, retention horizon.

#include "protocol/lsn.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace fieldsync::storage {

struct log_state {
  std::int64_t epoch = 0;
  std::string slot;
  protocol::lsn resume;
  protocol::lsn high;
  protocol::lsn horizon;
};

// nullopt before the first start.
boost::asio::awaitable<pg_outcome<std::optional<log_state>>> async_read_log_state(
    pg_connection& storage);

// Starts a new epoch: history is gone (or there was none). Empties the log and the
// collections' bookkeeping and records the new slot's consistent point as the resume,
// high-water and horizon position, in one transaction. The epoch is the time in
// microseconds rather than a counter, so a storage database restored from a backup that
// predates an earlier epoch change cannot hand out that epoch's number a second time.
boost::asio::awaitable<pg_outcome<log_state>> async_start_epoch(pg_connection& storage,
                                                               const std::string& slot,
                                                               protocol::lsn consistent_point);

}  // namespace fieldsync::storage
