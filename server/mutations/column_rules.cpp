#include "server/mutations/column_rules.hpp"

#include "protocol/value_json.hpp"

#include <algorithm>

namespace fieldsync::server {

using protocol::mutation_errc;
using protocol::mutation_problem;

namespace {

constexpr std::string_view claims_prefix = "$claims.";

bool claim_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_time(const protocol::column_type& t) {
  using protocol::type_class;
  return t.cls == type_class::timestamptz || t.cls == type_class::timestamp ||
         t.cls == type_class::date;
}

mutation_problem not_writable(std::string_view column, std::string_view why) {
  return {mutation_errc::forbidden,
          "column_not_writable: " + std::string(column) + " " + std::string(why)};
}

bool is_key(const protocol::collection_schema& schema, std::string_view column) {
  return std::find(schema.primary_key.begin(), schema.primary_key.end(), column) !=
         schema.primary_key.end();
}

// The token's claim as the column's PostgreSQL text, or why it cannot be.
boost::system::result<std::string, mutation_problem> claim_text(
    const protocol::column_schema& column, const std::string& claim, const principal& who) {
  const auto* v = who.claims.if_contains(claim);
  if (!v || v->is_null()) {
    return mutation_problem{mutation_errc::forbidden, "column_not_writable: " + column.name +
                                                          " is set from the token's claim " +
                                                          claim + ", which this token lacks"};
  }
  auto text = protocol::json_to_text(column.type, *v);
  if (!text) {
    return mutation_problem{
        mutation_errc::forbidden,
        "column_not_writable: the token's claim " + claim + " does not fit column " + column.name};
  }
  return std::move(*text);
}

// A claim column of an insert: the client's value, if it sent one, must be the claim's;
// without one the claim's value is filled in.
std::optional<mutation_problem> fill_claim(protocol::mutation& m,
                                           const protocol::column_schema& column,
                                           const std::string& claim, const principal& who) {
  auto expected = claim_text(column, claim, who);
  if (!expected) return expected.error();
  bool sent = false;
  for (const auto* part : {&m.set, &m.key}) {
    const auto* v = part->if_contains(column.name);
    if (!v) continue;
    sent = true;
    if (v->is_null())
      return not_writable(column.name, "is set by the server to the token's " + claim);
    auto text = protocol::json_to_text(column.type, *v);
    if (!text || *text != *expected) {
      return not_writable(column.name, "is set by the server to the token's " + claim +
                                           "; send that value or none");
    }
  }
  if (!sent) m.set[column.name] = who.claims.at(claim);
  return std::nullopt;
}

}  // namespace

boost::system::result<column_rules, std::string> make_column_rules(
    const column_rules_config& config, const protocol::collection_schema& schema) {
  column_rules r;
  r.insert_schema = schema;
  for (const auto& c : config.writable) {
    if (!schema.find(c)) return "writable_columns: no synced column " + c + " in " + schema.name;
    r.writable.insert(c);
  }
  for (const auto& [column, value] : config.server_set) {
    const auto* col = schema.find(column);
    if (!col) return "server_set: no synced column " + column + " in " + schema.name;
    if (value == "now()") {
      if (!is_time(col->type)) {
        return "server_set." + column +
               ": now() needs a timestamptz, timestamp or date column, not " +
               std::string(col->type.name);
      }
      if (is_key(schema, column))
        return "server_set." + column + ": now() cannot set a primary-key column";
      r.now.push_back(column);
      for (auto& c : r.insert_schema.columns) {
        if (c.name == column) c.has_default = true;
      }
    } else if (value.starts_with(claims_prefix) &&
               claim_name_ok(std::string_view(value).substr(claims_prefix.size()))) {
      r.claims.emplace(column, value.substr(claims_prefix.size()));
    } else {
      return "server_set." + column + ": \"" + value +
             "\" is neither \"$claims.<name>\" nor \"now()\"";
    }
  }
  return r;
}

boost::system::result<protocol::mutation, protocol::mutation_problem> apply_column_rules(
    const column_rules& rules, const protocol::mutation& m,
    const protocol::collection_schema& schema, const principal& who) {
  protocol::mutation out = m;
  if (m.op == protocol::mutation_op::remove) return out;
  for (const auto& column : rules.now) out.set.erase(column);
  for (const auto& member : out.set) {
    const auto name = member.key();
    const bool claimed = rules.claims.contains(name);
    if (claimed && m.op == protocol::mutation_op::update) {
      return not_writable(
          name, "is set by the server when the row is inserted; an update may not change it");
    }
    if (claimed || rules.writable.empty() || rules.writable.contains(name)) continue;
    if (m.op == protocol::mutation_op::insert && is_key(schema, name)) continue;
    return not_writable(name, "may not be set by clients in " + schema.name);
  }
  if (m.op == protocol::mutation_op::insert) {
    for (const auto& [column, claim] : rules.claims) {
      const auto* col = schema.find(column);
      if (!col) continue;  // checked at start-up
      if (auto problem = fill_claim(out, *col, claim, who)) return *problem;
    }
  }
  return out;
}

}  // namespace fieldsync::server
