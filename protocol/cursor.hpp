#pragma once
// A client's position in the change log. Opaque to clients; valid on every node of a
// cluster. The epoch changes when history is lost (slot lost, log restored): a cursor of
// another epoch, or older than the log's retention horizon, gets "reset".
//
// Every change in the log has a position (commit LSN, index within its transaction).
// A cursor names the last position delivered: (lsn) alone means the whole transaction at
// lsn and everything before it; (lsn, index) means only up to that change of it, for a
// page that ends inside a large transaction.
// Text form: "<epoch>-<lsn as 16 hex digits>[-<index>]".

#include "protocol/lsn.hpp"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

struct cursor {
  static constexpr std::uint32_t whole_transaction = UINT32_MAX;

  std::int64_t epoch = 0;
  lsn position;
  std::uint32_t index = whole_transaction;

  std::string to_string() const;
  // nullopt for anything that is not a cursor this server wrote.
  static std::optional<cursor> parse(std::string_view text) noexcept;

  friend auto operator<=>(const cursor&, const cursor&) = default;
};

}  // namespace fieldsync::protocol
