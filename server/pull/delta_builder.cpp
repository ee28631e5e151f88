#include "server/pull/delta_builder.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace fieldsync::server {

delta_builder::delta_builder(const protocol::bound_filter& scope,
                             const protocol::bound_filter* where, std::size_t limit,
                             std::size_t max_bytes)
    : scope_(scope), where_(where), limit_(limit), max_bytes_(max_bytes) {}

bool delta_builder::visible(const boost::json::object& row) const noexcept {
  return protocol::matches(scope_, row) && (!where_ || protocol::matches(*where_, row));
}

bool delta_builder::add(storage::log_change change) {
  // A rough size of the row as the answer will carry it (JSON of the same values).
  std::size_t size = 64 + change.change.key.size();
  for (const auto& [k, v] : change.change.row) {
    size += k.size() + 4 + (v.is_string() ? v.get_string().size() + 2 : 24);
  }
  auto it = by_key_.find(change.change.key);
  if (it == by_key_.end()) {
    if (slots_.size() >= limit_) return false;
    if (!slots_.empty() && bytes_ + size > max_bytes_) return false;
    slot s;
    switch (change.change.op) {
      case protocol::change_op::insert:
        s.inside_at_cursor = false;
        break;
      case protocol::change_op::update:
        // Without the old row (it should always be there: REPLICA IDENTITY FULL) the
        // client may hold the row: a delete it does not need is harmless, a missing one is
        // not.
        s.inside_at_cursor = !change.change.old_row || visible(*change.change.old_row);
        break;
      default:
        s.inside_at_cursor = visible(change.change.row);
        break;
    }
    s.bytes = size;
    bytes_ += size;
    by_key_.emplace(change.change.key, slots_.size());
    last_ = change_position{change.position, change.idx};
    s.latest = std::move(change);
    slots_.push_back(std::move(s));
    return true;
  }
  auto& s = slots_[it->second];
  bytes_ = bytes_ - s.bytes + size;
  s.bytes = size;
  last_ = change_position{change.position, change.idx};
  s.latest = std::move(change);
  return true;
}

std::vector<delta_entry> delta_builder::finish() {
  std::sort(slots_.begin(), slots_.end(), [](const slot& a, const slot& b) {
    if (a.latest.position != b.latest.position) return a.latest.position < b.latest.position;
    return a.latest.idx < b.latest.idx;
  });
  std::vector<delta_entry> out;
  out.reserve(slots_.size());
  for (auto& s : slots_) {
    bool alive = s.latest.change.op != protocol::change_op::remove;
    if (alive && visible(s.latest.change.row)) {
      delta_entry e;
      e.upsert = true;
      e.inside_at_cursor = s.inside_at_cursor;
      e.row_json = boost::json::serialize(s.latest.change.row);
      e.latest = std::move(s.latest);
      out.push_back(std::move(e));
    } else if (s.inside_at_cursor) {
      delta_entry e;
      e.upsert = false;
      e.inside_at_cursor = true;
      e.latest = std::move(s.latest);
      out.push_back(std::move(e));
    }
  }
  slots_.clear();
  by_key_.clear();
  bytes_ = 0;
  return out;
}

protocol::cursor cursor_after(std::int64_t epoch, const change_position& last,
                              const storage::log_change* next) {
  protocol::cursor c{epoch, last.lsn};
  if (next && next->position == last.lsn) c.index = last.idx;
  return c;
}

}  // namespace fieldsync::server
