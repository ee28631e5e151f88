#include "server/live/subscription_filter.hpp"

#include <algorithm>
#include <set>

namespace fieldsync::server {

namespace {

using protocol::bound_filter;
using protocol::bound_node;
using protocol::equality_constraint;
using bk = bound_node::kind;

bool folds_to_nothing(const bound_filter& f) {
  auto c = f.constant();
  return c && *c != protocol::filter_truth::true_;
}

// Necessary constraints of the subtree `n`: every row matching `n` satisfies each of them.
std::vector<equality_constraint> constraints_of(const bound_filter& f, const bound_node& n) {
  if (n.k == bk::and_) {
    std::vector<equality_constraint> out;
    for (const auto& child : n.children) {
      auto more = constraints_of(f, child);
      out.insert(out.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
    }
    return out;
  }
  if (n.k == bk::or_) {
    std::vector<std::vector<equality_constraint>> branches;
    for (const auto& child : n.children) {
      branches.push_back(constraints_of(f, child));
      if (branches.back().empty()) return {};  // a branch that pins nothing lets any row through
    }
    std::vector<equality_constraint> out;
    std::set<std::string> columns;
    for (const auto& c : branches.front()) columns.insert(c.column);
    for (const auto& column : columns) {
      std::set<std::string> keys;
      bool everywhere = true;
      for (const auto& branch : branches) {
        const equality_constraint* best = nullptr;
        for (const auto& c : branch) {
          if (c.column == column && (!best || c.keys.size() < best->keys.size())) best = &c;
        }
        if (!best) {
          everywhere = false;
          break;
        }
        keys.insert(best->keys.begin(), best->keys.end());
      }
      if (everywhere) out.push_back({column, {keys.begin(), keys.end()}});
    }
    return out;
  }
  // A single test: protocol's extraction, applied to this node as a filter of its own.
  bound_filter leaf;
  leaf.root = n;
  leaf.columns = f.columns;
  return protocol::equality_constraints(leaf);
}

}  // namespace

bool subscription_filter::matches_nothing() const noexcept {
  return folds_to_nothing(scope) || folds_to_nothing(where);
}

const char* to_string(delivery d) noexcept {
  switch (d) {
    case delivery::insert:
      return "insert";
    case delivery::update:
      return "update";
    case delivery::remove:
      return "delete";
    case delivery::none:
      break;
  }
  return "none";
}

delivery classify(const subscription_filter& f, const protocol::row_change& change) noexcept {
  using protocol::change_op;
  switch (change.op) {
    case change_op::insert:
      return f.matches(change.row) ? delivery::insert : delivery::none;
    case change_op::remove:
      return f.matches(change.row) ? delivery::remove : delivery::none;
    case change_op::update: {
      const bool now = f.matches(change.row);
      if (!change.old_row) return now ? delivery::update : delivery::remove;
      const bool before = f.matches(*change.old_row);
      if (before && now) return delivery::update;
      if (now) return delivery::insert;
      if (before) return delivery::remove;
      return delivery::none;
    }
    case change_op::truncate:
      break;  // expanded into deletes by the change log; never read back
  }
  return delivery::none;
}

std::optional<index_constraint> choose_index_constraint(const subscription_filter& f) {
  std::optional<index_constraint> best;
  for (const auto* part : {&f.scope, &f.where}) {
    if (part->constant()) continue;
    for (auto& c : constraints_of(*part, part->root)) {
      if (!best || c.keys.size() < best->keys.size())
        best = index_constraint{c.column, std::move(c.keys)};
    }
  }
  return best;
}

}  // namespace fieldsync::server
