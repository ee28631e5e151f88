#pragma once
// One page of a delta pull: the changes of one collection after a cursor, compacted to the
// latest version per row and cut to the caller's scope and filter (docs/protocol.md,
// "Delta pulls").
//
// For each key changed in the page's window (cursor, end], the latest version decides:
//   - it matches (scope AND where): an upsert of that version;
//   - else, if the row was inside (scope AND where) at the cursor: a delete (tombstone).
//     The row at the cursor is the old row of the first change in the window (old_row of
//     an update, the row of a delete; an insert means it did not exist);
//   - else nothing: the client never had it.
// Entries come in the commit order of their latest versions. The window ends where the
// page is full (limit keys, or max_bytes of rows), so that the next page, computed the
// same way from the returned cursor, continues exactly where this one stopped: after both
// pages the client holds the scoped rows as of the second page's end. Memory holds at most
// one change per key of the page.
//
// Pure: feed it changes in log order; no I/O.

#include "protocol/cursor.hpp"
#include "protocol/filter/filter.hpp"
#include "storage/change_log_reader.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fieldsync::server {

struct change_position {
  protocol::lsn lsn;
  std::uint32_t idx = 0;
};

struct delta_entry {
  bool upsert = true;             // false: a delete (tombstone)
  bool inside_at_cursor = false;  // the client had the row before this page
  storage::log_change latest;     // the version that decided (for a delete: the last change)
  std::string row_json;           // upserts: the row as JSON text
};

class delta_builder {
 public:
  // `where` may be null (no filter). Both filters must outlive the builder.
  delta_builder(const protocol::bound_filter& scope, const protocol::bound_filter* where,
                std::size_t limit, std::size_t max_bytes);

  // Takes the next change of the window. False when the page is full: the change was not
  // taken, and the page ends before it.
  bool add(storage::log_change change);

  // The position of the last change taken (nullopt before the first).
  const std::optional<change_position>& last_taken() const noexcept { return last_; }
  std::size_t keys() const noexcept { return slots_.size(); }

  // The entries, in commit order of their latest versions.
  std::vector<delta_entry> finish();

  bool visible(const boost::json::object& row) const noexcept;

 private:
  struct slot {
    storage::log_change latest;
    bool inside_at_cursor = false;
    std::size_t bytes = 0;
  };
  const protocol::bound_filter& scope_;
  const protocol::bound_filter* where_;
  std::size_t limit_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::vector<slot> slots_;
  std::unordered_map<std::string, std::size_t> by_key_;
  std::optional<change_position> last_;
};

// The cursor after a page: the last change taken, as a whole-transaction cursor when the
// next change (if any) belongs to another transaction.
protocol::cursor cursor_after(std::int64_t epoch, const change_position& last,
                              const storage::log_change* next);

}  // namespace fieldsync::server
