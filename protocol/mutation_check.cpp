#include "protocol/mutation_check.hpp"

#include "protocol/row_key.hpp"
#include "protocol/value_json.hpp"

#include <algorithm>

namespace fieldsync::protocol {

namespace json = boost::json;

namespace {

mutation_problem problem(mutation_errc code, std::string message) { return {code, std::move(message)}; }

bool is_key_column(const collection_schema& schema, std::string_view column) {
  return std::find(schema.primary_key.begin(), schema.primary_key.end(), column) !=
         schema.primary_key.end();
}

// The value as PostgreSQL will give it back: the log's and the current row's spelling.
boost::system::result<json::value, mutation_problem> normalised(const column_schema& column,
                                                               const json::value& value,
                                                               const mutation_limits& limits) {
  auto text = column_text(column, value, limits);
  if (!text) return text.error();
  if (!*text) return json::value(nullptr);
  auto back = text_to_json(column.type, **text);
  if (!back) {
    return problem(mutation_errc::wrong_type, "column " + column.name + ": the value does not read back as " +
                                                  std::string(column.type.name));
  }
  return std::move(*back);
}

}  // namespace

boost::system::result<std::optional<std::string>, mutation_problem> column_text(
    const column_schema& column, const json::value& value, const mutation_limits& limits) {
  if (value.is_null()) {
    if (column.not_null) {
      return problem(mutation_errc::not_null, "column " + column.name + " may not be null");
    }
    return std::optional<std::string>();
  }
  auto text = json_to_text(column.type, value);
  if (!text) {
    return problem(mutation_errc::wrong_type, "column " + column.name + " (" +
                                                  std::string(column.type.name) +
                                                  "): " + text.error().message());
  }
  if (text->size() > limits.max_value_bytes) {
    return problem(mutation_errc::too_large,
                   "column " + column.name + ": the value takes " + std::to_string(text->size()) +
                       " bytes, over the limit of " + std::to_string(limits.max_value_bytes));
  }
  return std::optional<std::string>(std::move(*text));
}

boost::system::result<checked_mutation, mutation_problem> check_mutation(
    const mutation& m, const collection_schema& schema, const mutation_limits& limits) {
  if (m.problem) return *m.problem;
  checked_mutation out;
  for (const auto& [name, value] : m.key) {
    if (!schema.find(name)) {
      return problem(mutation_errc::unknown_column, "key: collection " + schema.name + " has no column " + std::string(name));
    }
    if (!is_key_column(schema, name)) {
      return problem(mutation_errc::bad_mutation, "key: " + std::string(name) + " is not a primary-key column of " + schema.name);
    }
  }
  for (const auto* part : {&m.set, &m.base}) {
    for (const auto& member : *part) {
      if (!schema.find(member.key())) {
        return problem(mutation_errc::unknown_column, std::string(part == &m.set ? "set" : "base") +
                                                          ": collection " + schema.name +
                                                          " has no column " + std::string(member.key()));
      }
    }
  }
  // The key: from `key`, or for an insert from `set`; both must agree where both have it.
  for (const auto& column_name : schema.primary_key) {
    const auto* column = schema.find(column_name);
    if (!column) return problem(mutation_errc::missing_key, "primary-key column " + column_name + " is not synced");
    const auto* in_key = m.key.if_contains(column_name);
    const auto* in_set = m.set.if_contains(column_name);
    const json::value* given = in_key ? in_key : (m.op == mutation_op::insert ? in_set : nullptr);
    if (!given || given->is_null()) {
      return problem(mutation_errc::missing_key, "key column " + column_name + " is missing");
    }
    auto value = normalised(*column, *given, limits);
    if (!value) {
      auto e = value.error();
      if (e.code == mutation_errc::not_null) e.code = mutation_errc::missing_key;
      return e;
    }
    if (in_key && in_set) {
      auto other = normalised(*column, *in_set, limits);
      if (!other || *other != *value) {
        return problem(m.op == mutation_op::insert ? mutation_errc::bad_mutation : mutation_errc::key_immutable,
                       m.op == mutation_op::insert
                           ? "key column " + column_name + " differs between key and set"
                           : "an update cannot change primary-key column " + column_name);
      }
    }
    out.key[column_name] = std::move(*value);
  }
  auto key_text = row_key(out.key, schema.primary_key);
  if (!key_text) return problem(mutation_errc::missing_key, "the key is incomplete");
  out.key_text = std::move(*key_text);

  for (const auto& [name, value] : m.set) {
    if (is_key_column(schema, name)) continue;  // checked above
    auto v = normalised(*schema.find(name), value, limits);
    if (!v) return v.error();
    out.changes[name] = std::move(*v);
  }
  if (m.op == mutation_op::insert) {
    for (const auto& [name, value] : out.key) out.changes[name] = value;
    for (const auto& column : schema.columns) {
      if (column.not_null && !column.has_default && !out.changes.contains(column.name)) {
        return problem(mutation_errc::not_null, "an insert must set column " + column.name + " (NOT NULL, no default)");
      }
    }
  }
  for (const auto& [name, value] : m.base) {
    auto v = normalised(*schema.find(name), value, mutation_limits{~std::size_t{0}});
    if (v) {
      out.base[name] = std::move(*v);
    } else {
      out.base[name] = value;
    }
  }
  return out;
}

}  // namespace fieldsync::protocol
