#pragma once
// Offsets and handles of the Shape API (GET /v1/shape, the ElectricSQL Shape HTTP API),
// mapped onto fieldsync's snapshots and cursors. docs/protocol.md, "Shape API".
//
//   offset "-1"      the beginning: a new snapshot
//   offset "now"     no snapshot: from the log's high-water mark on
//   offset "0_<n>"   inside the snapshot, n >= 1 rows delivered (the shape's snapshot
//                    instant H is in the handle)
//   offset "<L>_0"   after the whole transaction at LSN L (decimal) and everything before
//   offset "<L>_<k>" after the first k changes (k >= 1) of the transaction at L, for pages
//                    that end inside a big transaction
//
//   handle "<epoch>-<H decimal>-<hash>": the epoch and snapshot instant of the shape as
//   this client syncs it, and a hash of its definition (table, where, params, columns).
//   Another epoch (history lost), an H outside the retention window, or another
//   definition: 409 with a new handle, and the client starts over.
//
// Pure: no I/O.

#include "protocol/cursor.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::server {

struct shape_offset {
  enum class kind { before_all, now, snapshot, log };
  kind k = kind::before_all;
  std::uint64_t rows = 0;                                     // snapshot: rows delivered so far
  protocol::lsn lsn;                                          // log
  std::uint32_t index = protocol::cursor::whole_transaction;  // log: as in protocol::cursor

  std::string to_string() const;
  static std::optional<shape_offset> parse(std::string_view text) noexcept;
  static shape_offset snapshot_rows(std::uint64_t n) { return {kind::snapshot, n, {}, {}}; }
  static shape_offset after(const protocol::cursor& c) {
    return {kind::log, 0, c.position, c.index};
  }
};

struct shape_handle {
  std::int64_t epoch = 0;
  protocol::lsn as_of;
  std::uint64_t definition = 0;

  std::string to_string() const;
  static std::optional<shape_handle> parse(std::string_view text) noexcept;
  friend bool operator==(const shape_handle&, const shape_handle&) = default;
};

// The hash a handle carries for a shape's definition (FNV-1a 64 of the parts).
std::uint64_t shape_definition_hash(std::string_view table, std::string_view where,
                                    std::string_view params, std::string_view columns);

}  // namespace fieldsync::server
