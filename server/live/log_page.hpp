#pragma once
// Cursors of the changes in a page of the change log, as the hub's live delivery and a
// subscription's catch-up hand them out (both read the log in pages of the same shape).

#include "protocol/cursor.hpp"
#include "storage/change_log_reader.hpp"

#include <cstdint>
#include <vector>

namespace fieldsync::server {

inline protocol::cursor position_of(std::int64_t epoch, const storage::log_change& c) {
  return protocol::cursor{epoch, c.position, c.idx};
}

// The cursor sent with the i-th change of a page: the whole transaction's when it is the
// last change of its transaction, else the change's own position. Only a page that reached
// its goal knows that of its last change; a full page is therefore consumed but for its last
// entry, which the next page reads again.
inline protocol::cursor cursor_after(std::int64_t epoch, const std::vector<storage::log_change>& page,
                                     std::size_t i, bool page_reached_goal) {
  const auto& c = page[i];
  const bool last = i + 1 < page.size() ? page[i + 1].position != c.position : page_reached_goal;
  return last ? protocol::cursor{epoch, c.position, protocol::cursor::whole_transaction}
              : position_of(epoch, c);
}

}  // namespace fieldsync::server
