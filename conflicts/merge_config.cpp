#include "conflicts/merge_config.hpp"

#include <algorithm>

namespace fieldsync::conflicts {

namespace {

std::string known_list(const strategy_registry& registry) {
  std::string out;
  for (auto name : registry.names()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string where(const merge_config& config, std::string_view field) {
  std::string out = "collection \"" + config.collection + "\"";
  if (field.empty()) return out + ", default merge strategy";
  return out + ", field \"" + std::string(field) + "\"";
}

}  // namespace

std::string_view to_string(update_deleted_policy p) noexcept {
  return p == update_deleted_policy::update_wins ? "update-wins" : "delete-wins";
}

std::string_view to_string(delete_changed_policy p) noexcept {
  return p == delete_changed_policy::reject ? "reject" : "delete-wins";
}

std::string_view to_string(insert_existing_policy p) noexcept {
  return p == insert_existing_policy::merge_as_update ? "merge-as-update" : "reject";
}

std::optional<update_deleted_policy> parse_update_deleted_policy(std::string_view s) noexcept {
  if (s == "delete-wins") return update_deleted_policy::delete_wins;
  if (s == "update-wins") return update_deleted_policy::update_wins;
  return std::nullopt;
}

std::optional<delete_changed_policy> parse_delete_changed_policy(std::string_view s) noexcept {
  if (s == "delete-wins") return delete_changed_policy::delete_wins;
  if (s == "reject") return delete_changed_policy::reject;
  return std::nullopt;
}

std::optional<insert_existing_policy> parse_insert_existing_policy(std::string_view s) noexcept {
  if (s == "reject") return insert_existing_policy::reject;
  if (s == "merge-as-update") return insert_existing_policy::merge_as_update;
  return std::nullopt;
}

std::string_view merge_config::strategy_for(std::string_view field) const noexcept {
  auto it = field_strategies.find(field);
  return it == field_strategies.end() ? std::string_view(default_strategy)
                                      : std::string_view(it->second);
}

std::vector<merge_config_error> validate_merge_config(const merge_config& config,
                                                      const strategy_registry& registry,
                                                      const protocol::collection_schema* schema) {
  std::vector<merge_config_error> errors;
  auto fail = [&](std::string_view field, std::string message) {
    errors.push_back(
        {config.collection, std::string(field), where(config, field) + ": " + std::move(message)});
  };
  auto lookup = [&](std::string_view field, std::string_view name) -> const merge_strategy* {
    const merge_strategy* s = registry.find(name);
    if (!s) {
      fail(field, "unknown merge strategy \"" + std::string(name) +
                      "\" (known: " + known_list(registry) + ")");
    }
    return s;
  };

  const merge_strategy* fallback = lookup({}, config.default_strategy);
  for (const auto& [field, name] : config.field_strategies) {
    if (field.empty()) {
      fail(field, "empty field name");
      continue;
    }
    const merge_strategy* s = lookup(field, name);
    if (!schema) continue;
    const protocol::column_schema* column = schema->find(field);
    if (!column) {
      fail(field, "no such column in table \"" + schema->table_name + "\"");
    } else if (s && !s->accepts(column->type)) {
      fail(field, "merge strategy \"" + name + "\" cannot merge a " +
                      std::string(column->type.name) + " column");
    }
  }
  if (schema && fallback) {
    for (const auto& column : schema->columns) {
      bool key = std::find(schema->primary_key.begin(), schema->primary_key.end(), column.name) !=
                 schema->primary_key.end();
      if (key || config.field_strategies.contains(column.name)) continue;
      if (!fallback->accepts(column.type)) {
        fail(column.name, "the default merge strategy \"" + config.default_strategy +
                              "\" cannot merge a " + std::string(column.type.name) +
                              " column; give the column a strategy of its own");
      }
    }
  }
  return errors;
}

}  // namespace fieldsync::conflicts
