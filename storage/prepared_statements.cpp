#include "storage/prepared_statements.hpp"

namespace fieldsync::storage {

std::optional<prepared_statements::use> prepared_statements::use_of(const std::string& sql) {
  if (auto it = names_.find(sql); it != names_.end()) return use{it->second, false};
  if (names_.size() >= max_prepared || sql.size() > max_text_bytes) return std::nullopt;
  if (auto it = seen_.find(sql); it == seen_.end()) {
    // A session that sees many one-off texts starts counting afresh rather than grow.
    if (seen_.size() >= max_seen) seen_.clear();
    seen_.insert(sql);
    return std::nullopt;
  } else {
    seen_.erase(it);
  }
  auto name = "fieldsync_" + std::to_string(++next_);
  names_.emplace(sql, name);
  return use{std::move(name), true};
}

void prepared_statements::forget(const std::string& sql) { names_.erase(sql); }

void prepared_statements::forget_all() { names_.clear(); }

}  // namespace fieldsync::storage
