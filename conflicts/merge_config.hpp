#pragma once
// How one collection merges concurrent edits: the field policies by name and the row-level
// policies, with their defaults (docs/merge.md). The config loader fills it from
// [collections.NAME.merge] and calls validate_merge_config() at start-up; merge_row() reads
// it on every mutation.
//
// Defaults: every field `lww`; a concurrent delete and update is settled in favour of the
// row as the server has it, and the client is told (update of a deleted row: delete-wins;
// delete of a changed row: reject; insert of an existing key: reject). No default overwrites
// or resurrects server data without the client's mutation saying so.

#include "conflicts/strategy_registry.hpp"
#include "protocol/collection_schema.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::conflicts {

// The client updates a row that was deleted since its base.
enum class update_deleted_policy {
  delete_wins,  // "delete-wins": rejected with row_deleted; the row stays deleted
  update_wins,  // "update-wins": the row is recreated from its last values and the update
};

// The client deletes a row that was changed since its base.
enum class delete_changed_policy {
  delete_wins,  // "delete-wins": the row is deleted
  reject,       // "reject": rejected with row_changed and the changed fields
};

// The client inserts a key that exists.
enum class insert_existing_policy {
  reject,           // "reject": rejected with row_exists
  merge_as_update,  // "merge-as-update": an update with an empty base against the existing row
};

std::string_view to_string(update_deleted_policy p) noexcept;
std::string_view to_string(delete_changed_policy p) noexcept;
std::string_view to_string(insert_existing_policy p) noexcept;
std::optional<update_deleted_policy> parse_update_deleted_policy(std::string_view s) noexcept;
std::optional<delete_changed_policy> parse_delete_changed_policy(std::string_view s) noexcept;
std::optional<insert_existing_policy> parse_insert_existing_policy(std::string_view s) noexcept;

struct merge_config {
  std::string collection;
  std::string default_strategy = "lww";
  std::map<std::string, std::string, std::less<>> field_strategies;  // column -> strategy
  update_deleted_policy update_deleted = update_deleted_policy::delete_wins;
  delete_changed_policy delete_changed = delete_changed_policy::reject;
  insert_existing_policy insert_existing = insert_existing_policy::reject;

  // The strategy name for a field: its override, or the default.
  std::string_view strategy_for(std::string_view field) const noexcept;
};

struct merge_config_error {
  std::string collection;
  std::string field;    // empty when the error is about the default strategy
  std::string message;  // one line naming the collection and the field
};

// Every problem with a config, in a deterministic order; empty when it is valid. Checks
// that every strategy name is registered, and, given the collection's schema, that
// overridden fields are columns of it and that each column's strategy accepts its type
// (counter on a text column is an error; primary-key columns are never merged and skipped).
std::vector<merge_config_error> validate_merge_config(
    const merge_config& config, const strategy_registry& registry,
    const protocol::collection_schema* schema = nullptr);

}  // namespace fieldsync::conflicts
