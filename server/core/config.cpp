#include "server/core/config.hpp"

namespace fieldsync::server {

conflicts::merge_config merge_config_of(const collection_config& c) {
  conflicts::merge_config m;
  m.collection = c.name;
  m.default_strategy = c.merge.default_strategy;
  for (const auto& [column, strategy] : c.merge.fields) m.field_strategies[column] = strategy;
  // The loader accepts only the documented spellings; the defaults stand otherwise.
  if (auto p = conflicts::parse_update_deleted_policy(c.merge.update_deleted)) m.update_deleted = *p;
  if (auto p = conflicts::parse_delete_changed_policy(c.merge.delete_changed)) m.delete_changed = *p;
  if (auto p = conflicts::parse_insert_existing_policy(c.merge.insert_existing)) m.insert_existing = *p;
  return m;
}

}  // namespace fieldsync::server
