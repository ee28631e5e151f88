#include "server/mutations/mutation_plan.hpp"

#include "protocol/filter/filter.hpp"
#include "protocol/value_json.hpp"

#include <algorithm>

namespace fieldsync::server {

using protocol::mutation_errc;
using protocol::mutation_problem;

namespace {

// The client's clock must name the client (its node) and may not run ahead of the server's
// by more than the drift: a clock far in the future would win every later write.
std::optional<mutation_problem> check_clock(const conflicts::hlc& clock, const std::string& client_id,
                                            const plan_context& ctx) {
  if (clock.node() != client_id) {
    return mutation_problem{mutation_errc::bad_clock, "client_ts: the clock's node must be the client id"};
  }
  if (clock.physical_ms() - ctx.now_ms > ctx.max_clock_drift.count()) {
    return mutation_problem{mutation_errc::clock_drift,
                            "client_ts is more than " + std::to_string(ctx.max_clock_drift.count()) +
                                " ms ahead of the server's clock"};
  }
  return std::nullopt;
}

// Where the write scope decides on the key alone (an equality on a primary-key column at its
// top level, like rep_id = $claims.rep_id for a key (rep_id, month)), a key outside it is
// refused before anything is read or locked: the same answer whether its row exists or not.
bool key_outside_scope(const protocol::bound_filter& scope,
                       const protocol::collection_schema& schema, const boost::json::object& key) {
  for (const auto& c : protocol::equality_constraints(scope)) {
    const auto* v = key.if_contains(c.column);
    const auto* column = schema.find(c.column);
    if (!v || !column) continue;  // not a key column: undecidable on the key
    auto k = protocol::equality_key(column->type, *v);
    if (!k || std::find(c.keys.begin(), c.keys.end(), *k) == c.keys.end()) return true;
  }
  return false;
}

planned_mutation plan_one(const protocol::mutation& m, const std::string& client_id, const principal& who,
                          const plan_context& ctx) {
  planned_mutation p;
  p.m = &m;
  p.access = ctx.collections.find(m.collection);
  if (m.problem) {
    p.problem = m.problem;
    return p;
  }
  if (!p.access) {
    p.problem = mutation_problem{mutation_errc::unknown_collection, "no collection " + m.collection};
    return p;
  }
  auto scope = bind_write_scope(*p.access, who);
  if (!scope) {
    p.problem = mutation_problem{mutation_errc::forbidden, scope.error().message};
    return p;
  }
  auto merge = ctx.merges.find(m.collection);
  p.merge = merge == ctx.merges.end() ? nullptr : &merge->second;
  const auto* schema = &p.access->schema;
  if (ctx.columns) {
    if (auto rules = ctx.columns->find(m.collection);
        rules != ctx.columns->end() && !rules->second.empty()) {
      p.rules = &rules->second;
      auto adjusted = apply_column_rules(*p.rules, m, *schema, who);
      if (!adjusted) {
        p.problem = adjusted.error();
        return p;
      }
      p.adjusted = std::make_shared<const protocol::mutation>(std::move(*adjusted));
      p.m = p.adjusted.get();
      if (m.op == protocol::mutation_op::insert) schema = &p.rules->insert_schema;
    }
  }
  auto checked = protocol::check_mutation(*p.m, *schema, ctx.values);
  if (!checked) {
    p.problem = checked.error();
    return p;
  }
  if (key_outside_scope(*scope, p.access->schema, checked->key)) {
    p.problem = mutation_problem{mutation_errc::forbidden, "the key is outside your write scope"};
    return p;
  }
  p.checked = std::move(*checked);
  if (m.client_ts.empty()) return p;
  auto clock = conflicts::hlc::parse(m.client_ts);
  if (!clock) {
    p.problem = mutation_problem{mutation_errc::bad_clock, "client_ts: " + clock.error().message()};
  } else if (auto problem = check_clock(*clock, client_id, ctx)) {
    p.problem = std::move(problem);
  } else {
    p.clock = *clock;
  }
  return p;
}

template <typename T>
void add_once(std::vector<T>& list, T value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

}  // namespace

std::vector<planned_mutation> plan_mutations(const protocol::mutation_batch& batch,
                                             const principal& who, const plan_context& ctx) {
  std::vector<planned_mutation> plans;
  plans.reserve(batch.mutations.size());
  for (const auto& m : batch.mutations) plans.push_back(plan_one(m, batch.client_id, who, ctx));
  return plans;
}

std::map<std::string, collection_reads> plan_reads(const std::vector<planned_mutation>& plans) {
  std::map<std::string, collection_reads> by_collection;
  for (const auto& p : plans) {
    if (p.problem || !p.checked) continue;
    auto& cr = by_collection[p.access->schema.name];
    cr.access = p.access;
    add_once(cr.keys, p.checked->key_text);
    add_once(cr.key_texts, key_texts(p.access->schema, *p.checked));
    const bool needs_log = p.m->base_version ||
                           (p.merge && p.merge->update_deleted == conflicts::update_deleted_policy::update_wins);
    if (needs_log) add_once(cr.log_keys, p.checked->key_text);
  }
  return by_collection;
}

std::vector<std::string> key_texts(const protocol::collection_schema& schema,
                                   const protocol::checked_mutation& checked) {
  std::vector<std::string> texts;
  for (const auto& column : schema.primary_key) {
    auto t = protocol::json_to_text(schema.find(column)->type, checked.key.at(column));
    texts.push_back(t ? *t : std::string());
  }
  return texts;
}

}  // namespace fieldsync::server
