#pragma once
// The fan-out hub's index of one collection's subscriptions (docs/filters.md, "Indexing").
//
// A subscription with an index constraint (subscription_filter.hpp) is filed under each of
// its keys in that column's hash index; one without goes to the unindexed list. A change
// finds its candidates by looking up the equality key of its old and its new row's value
// in each indexed column (usually one: territory_id), plus the unindexed list, so the cost
// per change is O(indexed columns + candidates), not O(all subscriptions). Candidates are
// then judged by classify(); the index only guarantees that no subscription that could
// match is missed, and that none is offered twice for one change.
//
// `Sub` is the caller's record type; the index reads and writes its member
// `std::uint64_t index_stamp` (de-duplication across buckets) and stores raw pointers,
// which the caller keeps valid until remove().
//
// Pure: no I/O. Concurrency contract: one thread at a time (the hub's strand).

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter_constraints.hpp"
#include "server/live/subscription_filter.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fieldsync::server {

template <typename Sub>
class subscription_index {
 public:
  explicit subscription_index(const protocol::collection_schema* schema) : schema_(schema) {}

  // Files `s` under `c` (nullopt: unindexed). A constraint on a column the schema lacks
  // cannot come from a checked filter; it is filed unindexed rather than trusted.
  void add(Sub* s, const std::optional<index_constraint>& c) {
    ++size_;
    column_index* col = c ? column(c->column) : nullptr;
    if (!col) {
      unindexed_.push_back(s);
      return;
    }
    ++col->subscriptions;
    for (const auto& key : c->keys) col->buckets[key].push_back(s);
  }

  // Removes `s`, filed with the same constraint as given to add().
  void remove(Sub* s, const std::optional<index_constraint>& c) {
    --size_;
    column_index* col = c ? find_column(c->column) : nullptr;
    if (!col) {
      erase_from(unindexed_, s);
      return;
    }
    --col->subscriptions;
    for (const auto& key : c->keys) {
      auto it = col->buckets.find(key);
      if (it == col->buckets.end()) continue;
      erase_from(it->second, s);
      if (it->second.empty()) col->buckets.erase(it);
    }
    if (col->subscriptions == 0) {
      columns_.erase(columns_.begin() + (col - columns_.data()));
    }
  }

  // Calls f(Sub*) once for every subscription that might match the change whose rows are
  // `row` and (for updates) `old_row`.
  template <typename F>
  void for_each_candidate(const boost::json::object& row, const boost::json::object* old_row,
                          F&& f) {
    const std::uint64_t stamp = ++stamp_;
    for (auto& col : columns_) {
      visit(col, row, stamp, f);
      if (old_row) visit(col, *old_row, stamp, f);
    }
    for (Sub* s : unindexed_) f(s);
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t unindexed() const noexcept { return unindexed_.size(); }
  std::size_t indexed_columns() const noexcept { return columns_.size(); }

 private:
  struct column_index {
    std::string name;
    protocol::column_type type;
    std::size_t subscriptions = 0;
    std::unordered_map<std::string, std::vector<Sub*>> buckets;
  };

  column_index* find_column(const std::string& name) {
    for (auto& c : columns_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  column_index* column(const std::string& name) {
    if (auto* c = find_column(name)) return c;
    const auto* schema_column = schema_ ? schema_->find(name) : nullptr;
    if (!schema_column) return nullptr;
    columns_.push_back(column_index{name, schema_column->type, 0, {}});
    return &columns_.back();
  }

  template <typename F>
  void visit(column_index& col, const boost::json::object& row, std::uint64_t stamp, F& f) {
    const auto* value = row.if_contains(col.name);
    if (!value) return;
    auto key = protocol::equality_key(col.type, *value);
    if (!key) return;
    auto it = col.buckets.find(*key);
    if (it == col.buckets.end()) return;
    for (Sub* s : it->second) {
      if (s->index_stamp == stamp) continue;
      s->index_stamp = stamp;
      f(s);
    }
  }

  static void erase_from(std::vector<Sub*>& v, Sub* s) {
    auto it = std::find(v.begin(), v.end(), s);
    if (it == v.end()) return;
    *it = v.back();
    v.pop_back();
  }

  const protocol::collection_schema* schema_;
  std::vector<column_index> columns_;
  std::vector<Sub*> unindexed_;
  std::uint64_t stamp_ = 0;
  std::size_t size_ = 0;
};

}  // namespace fieldsync::server
