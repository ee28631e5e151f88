#pragma once
// Where an HTTP pull continues (GET /v1/collections/{name}/changes?cursor=...):
//
//  - after a position in the change log: a protocol::cursor, "<epoch>-<lsn>[-<index>]";
//  - inside a snapshot paged over several requests: the snapshot's instant (the epoch and
//    the log's high-water mark H when its first page was read) and the last key it
//    delivered, "S<epoch>-<lsn>-<base64url of the key>". Every page of the snapshot reads
//    the rows as they were at H (storage/pull_reader.hpp), however long the client takes
//    between pages and whatever changed meanwhile, so the pages together are one
//    consistent snapshot; the last page hands out the log cursor H, from which the changes
//    made since follow. A snapshot whose H left the retention window gets "reset", like a
//    cursor would.
//
// Both are opaque to clients. Pure: no I/O.

#include "protocol/cursor.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace fieldsync::server {

struct snapshot_position {
  std::int64_t epoch = 0;
  protocol::lsn as_of;    // the log's high-water mark the snapshot shows
  std::string after_key;  // the last key delivered; the next page starts after it

  friend bool operator==(const snapshot_position&, const snapshot_position&) = default;
};

using pull_position = std::variant<protocol::cursor, snapshot_position>;

std::string to_string(const pull_position& p);

// nullopt for anything this server did not write. Keys are at most `max_key_bytes`.
std::optional<pull_position> parse_pull_position(std::string_view text,
                                                 std::size_t max_key_bytes = 8192);

// RFC 4648 base64url without padding, for keys inside tokens.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace fieldsync::server
