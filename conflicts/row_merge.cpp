#include "conflicts/row_merge.hpp"

#include "conflicts/canonical_value.hpp"
#include "conflicts/field_merge.hpp"
#include "conflicts/merge_errc.hpp"

#include <algorithm>

namespace fieldsync::conflicts {

namespace {

const boost::json::value null_value;

std::optional<hlc> later(const std::optional<hlc>& a, const std::optional<hlc>& b) {
  return a < b ? b : a;
}

std::vector<std::string_view> sorted_keys(const boost::json::object& o) {
  std::vector<std::string_view> keys;
  keys.reserve(o.size());
  for (const auto& kv : o) keys.push_back(kv.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

protocol::column_type type_of(const row_merge_input& in, std::string_view field) {
  if (in.schema) {
    if (const auto* column = in.schema->find(field)) return column->type;
  }
  return {};
}

const boost::json::value& value_or_null(const boost::json::object& row, std::string_view field) {
  const auto* v = row.if_contains(field);
  return v ? *v : null_value;
}

// The clocks of the fields the client set, for a row written without a merge.
void stamp_all(row_merge_result& r, const boost::json::object& changes, const writer& client) {
  if (!client.clock) return;
  for (const auto& kv : changes)
    r.field_clocks.insert_or_assign(std::string(kv.key()), *client.clock);
}

// The clock of the write whose value now stands, which is what lww compares the next
// concurrent write with; nullopt when the field's clock does not change.
std::optional<hlc> field_clock(const merge_strategy& strategy, const field_context& c,
                               const merged_field& merged) {
  switch (merged.resolution) {
    case field_resolution::client:
      // A field the client sent back unchanged was not written by it.
      if (c.base && strategy.same(*c.client, *c.base, c.type)) return std::nullopt;
      return c.client_writer->clock;
    case field_resolution::server:
      return std::nullopt;
    case field_resolution::agreed:
      return later(c.server_writer->clock, c.client_writer->clock);
    case field_resolution::policy:
      if (strategy.same(merged.value, *c.server, c.type)) return std::nullopt;
      if (strategy.same(merged.value, *c.client, c.type)) return c.client_writer->clock;
      return later(c.server_writer->clock, c.client_writer->clock);
  }
  return std::nullopt;
}

row_merge_result reject(merge_errc reason, const std::optional<boost::json::object>& current) {
  row_merge_result r;
  r.outcome = row_outcome::rejected;
  r.reason = reason;
  if (current) r.row = *current;
  return r;
}

// The row as the client wrote it onto `from`, fields in name order.
boost::json::object overlay(boost::json::object from, const boost::json::object& changes) {
  for (auto field : sorted_keys(changes)) from[field] = changes.at(field);
  return from;
}

boost::system::result<row_merge_result> merge_update(const merge_config& config,
                                                     const strategy_registry& registry,
                                                     const row_merge_input& in,
                                                     const boost::json::object& base,
                                                     const boost::json::object& current) {
  row_merge_result r;
  r.row = current;
  bool written = false;
  bool client_overridden = false;
  for (auto field : sorted_keys(in.changes)) {
    std::string_view strategy_name = config.strategy_for(field);
    const merge_strategy* strategy = registry.find(strategy_name);
    if (!strategy) return merge_errc::unknown_strategy;

    writer field_writer;
    const writer* server_writer = &in.server;
    if (in.server_field_clocks) {
      if (auto it = in.server_field_clocks->find(field); it != in.server_field_clocks->end()) {
        field_writer = writer{it->second, it->second.node()};
      }
      server_writer = &field_writer;
    }
    const boost::json::value& client_value = in.changes.at(field);
    const boost::json::value& server_value = value_or_null(current, field);
    field_context c{
        .collection = config.collection,
        .field = field,
        .type = type_of(in, field),
        .base = base.if_contains(field),
        .client = &client_value,
        .server = &server_value,
        .client_writer = &in.client,
        .server_writer = server_writer,
    };
    auto merged = merge_field(*strategy, c);
    if (!merged || merged->resolution == field_resolution::policy) {
      field_conflict conflict{
          .field = std::string(field),
          .strategy = std::string(strategy_name),
          .base = c.base ? std::optional<boost::json::value>(*c.base) : std::nullopt,
          .client = client_value,
          .server = server_value,
          .merged = std::nullopt,
          .error = {},
      };
      if (merged) {
        conflict.merged = merged->value;
      } else {
        conflict.error = merged.error();
        if (!r.reason) r.reason = merged.error();
        r.rejected_fields.emplace_back(field);
      }
      r.conflicts.push_back(std::move(conflict));
    }
    if (!merged) continue;

    if (!strategy->same(merged->value, client_value, c.type)) client_overridden = true;
    if (auto clock = field_clock(*strategy, c, *merged)) {
      r.field_clocks.insert_or_assign(std::string(field), *clock);
    }
    // Another spelling of the stored value is no change: the row keeps what is stored.
    if (!current.contains(field) || !same_value(merged->value, server_value, c.type)) {
      written = true;
      r.row[field] = std::move(merged->value);
    }
  }

  if (!r.rejected_fields.empty()) {
    r.outcome = row_outcome::rejected;
    r.row = current;
    r.field_clocks.clear();
    return r;
  }
  r.outcome = client_overridden ? row_outcome::merged : row_outcome::applied;
  if (written) r.action = row_action::update;
  r.row_clock = later(in.server.clock, in.client.clock);
  return r;
}

boost::system::result<row_merge_result> merge_insert(const merge_config& config,
                                                     const strategy_registry& registry,
                                                     const row_merge_input& in) {
  if (!in.current) {
    row_merge_result r;
    r.action = row_action::insert;
    r.row = in.changes;
    r.row_clock = in.client.clock;
    stamp_all(r, in.changes, in.client);
    return r;
  }
  if (config.insert_existing == insert_existing_policy::reject) {
    auto r = reject(merge_errc::row_exists, in.current);
    r.row_policy = to_string(config.insert_existing);
    return r;
  }
  static const boost::json::object no_base;
  auto r = merge_update(config, registry, in, no_base, *in.current);
  if (r) r->row_policy = to_string(config.insert_existing);
  return r;
}

boost::system::result<row_merge_result> merge_delete(const merge_config& config,
                                                     const strategy_registry& registry,
                                                     const row_merge_input& in) {
  row_merge_result r;
  if (!in.current) return r;  // already gone: nothing to do, and nothing the client must undo

  std::vector<std::string> changed;
  for (auto field : sorted_keys(in.base)) {
    const merge_strategy* strategy = registry.find(config.strategy_for(field));
    if (!strategy) return merge_errc::unknown_strategy;
    if (!strategy->same(value_or_null(*in.current, field), in.base.at(field), type_of(in, field))) {
      changed.emplace_back(field);
    }
  }
  bool conflicting = in.base.empty() || !changed.empty();
  if (conflicting && config.delete_changed == delete_changed_policy::reject) {
    r = reject(merge_errc::row_changed, in.current);
    r.row_policy = to_string(config.delete_changed);
    r.rejected_fields = std::move(changed);
    return r;
  }
  if (conflicting) r.row_policy = to_string(config.delete_changed);
  r.action = row_action::remove;
  r.row_clock = later(in.server.clock, in.client.clock);
  return r;
}

}  // namespace

boost::system::result<row_merge_result> merge_row(const merge_config& config,
                                                  const strategy_registry& registry,
                                                  const row_merge_input& in) {
  switch (in.op) {
    case protocol::change_op::insert:
      return merge_insert(config, registry, in);
    case protocol::change_op::remove:
      return merge_delete(config, registry, in);
    case protocol::change_op::update:
      break;
    case protocol::change_op::truncate:
      // Not a mutation a client can send; the mutation path never passes it.
      return make_error_code(merge_errc::not_mergeable);
  }
  if (in.current) return merge_update(config, registry, in, in.base, *in.current);

  if (config.update_deleted == update_deleted_policy::delete_wins) {
    auto r = reject(merge_errc::row_deleted, std::nullopt);
    r.row_policy = to_string(config.update_deleted);
    return r;
  }
  // update-wins: the row comes back as it was last known, with the client's update on top.
  row_merge_result r;
  r.action = row_action::insert;
  r.row_policy = to_string(config.update_deleted);
  r.row = overlay(in.tombstone ? *in.tombstone : in.base, in.changes);
  r.row_clock = later(in.server.clock, in.client.clock);
  stamp_all(r, in.changes, in.client);
  return r;
}

}  // namespace fieldsync::conflicts
