#pragma once
// A PostgreSQL MVCC snapshot as pg_current_snapshot() prints it ("xmin:xmax:xip,xip,..."),
// used to tell which stream transactions a table copy already contains: a transaction
// the snapshot sees committed before the copy and is in it; one it does not see is not.
//
// pgoutput's Begin carries 32-bit xids while pg_snapshot has 64-bit ones; comparisons
// are made modulo 2^32 relative to xmax, which is exact while the transactions compared
// are within 2^31 xids of the snapshot (PostgreSQL's own wraparound horizon).
//
// Pure; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::storage {

class xid_snapshot {
 public:
  static std::optional<xid_snapshot> parse(std::string_view text);

  // True when a transaction with this (top-level) xid had committed when the snapshot
  // was taken. Only meaningful for committed transactions, which is all the stream sends.
  bool sees(std::uint32_t xid) const noexcept;

  std::string to_string() const;

 private:
  std::uint64_t xmin_ = 0;
  std::uint64_t xmax_ = 0;
  std::vector<std::uint64_t> xip_;  // sorted
};

}  // namespace fieldsync::storage
