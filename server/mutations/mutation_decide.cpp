#include "server/mutations/mutation_decide.hpp"

#include "conflicts/canonical_value.hpp"
#include "conflicts/merge_errc.hpp"
#include "conflicts/row_merge.hpp"
#include "protocol/filter/filter.hpp"
#include "protocol/value_json.hpp"

#include <algorithm>

namespace fieldsync::server {

namespace json = boost::json;
using protocol::lsn;

namespace {

using clock_map = std::map<std::string, conflicts::hlc, std::less<>>;

// A rejection's message is bounded (it may quote the database's error): cut at a UTF-8
// character boundary.
constexpr std::size_t max_message_bytes = 512;

std::string_view bounded(std::string_view message) {
  if (message.size() <= max_message_bytes) return message;
  std::size_t n = max_message_bytes;
  while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  return message.substr(0, n);
}

json::object rejection(std::int64_t id, std::string_view code, std::string_view message) {
  return json::object{
      {"mutation_id", id}, {"status", "rejected"}, {"code", code}, {"message", bounded(message)}};
}

// What is kept of a result for retries: a rejection without the row and the conflicts it
// showed (the retry of a rejected mutation learns the current row from the change feed).
json::object stored_copy(const json::object& r) {
  if (r.at("status") != "rejected") return r;
  json::object small = r;
  small.erase("row");
  small.erase("conflicts");
  return small;
}

json::array conflicts_json(const std::vector<conflicts::field_conflict>& list) {
  json::array out;
  for (const auto& c : list) {
    json::object o{{"field", c.field}, {"strategy", c.strategy}, {"client", c.client}, {"server", c.server}};
    if (c.base) o["base"] = *c.base;
    if (c.merged) o["merged"] = *c.merged;
    if (c.error) {
      if (c.error.category() == conflicts::merge_category()) {
        o["error"] = conflicts::reason_code(static_cast<conflicts::merge_errc>(c.error.value()));
      } else {
        o["error"] = c.error.message();
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string_view reason_text(const boost::system::error_code& ec) {
  if (ec.category() == conflicts::merge_category()) {
    return conflicts::reason_code(static_cast<conflicts::merge_errc>(ec.value()));
  }
  return "conflict";
}

std::string reason_message(std::string_view code, const std::vector<std::string>& fields) {
  std::string list;
  for (const auto& f : fields) list += (list.empty() ? "" : ", ") + f;
  if (code == "conflict") return "both you and somebody else changed " + list + "; the current row is attached";
  if (code == "row_deleted") return "the row was deleted meanwhile";
  if (code == "row_changed") return "the row changed since you saw it" + (list.empty() ? std::string() : " (" + list + ")");
  if (code == "row_exists") return "a row with this key exists";
  if (code == "not_mergeable") return "the values of " + list + " cannot be merged by their policy";
  if (code == "out_of_range") return "the merged value of " + list + " is out of range";
  return "rejected by the merge";
}

// The version the row has now, when the log says so: the log's latest version holds what
// the source holds (written by the same transaction, or equal values, or both deleted).
// Otherwise (a write the log has not ingested yet) it is unknown, and the client learns it
// from the change feed.
std::optional<lsn> current_version(const row_state& s) {
  if (s.own || !s.log) return std::nullopt;
  if (s.row) {
    if (s.log->deleted) return std::nullopt;
    if ((s.log->xid && *s.log->xid == s.xmin) || s.log->row == *s.row) return s.log->version;
    return std::nullopt;
  }
  if (s.log->deleted) return s.log->version;
  return std::nullopt;
}

// Stored clocks describe the row only while they name its current version (or its delete):
// a later write by an integration leaves them behind.
bool stored_clocks_valid(const row_state& s) {
  if (!s.stored) return false;
  if (s.row) return s.stored->xid == s.xmin;
  return s.stored->deleted;
}

conflicts::writer server_writer(const row_state& s) {
  if (s.clocks_set) return s.last_writer;
  if (stored_clocks_valid(s)) {
    conflicts::writer w;
    w.client_id = s.stored->client_id;
    if (!s.stored->row_clock.empty()) {
      if (auto c = conflicts::hlc::parse(s.stored->row_clock)) w.clock = *c;
    }
    return w;
  }
  // Written by an integration: ordered by its commit time when PostgreSQL tracks it,
  // otherwise earlier than every client's clock (docs/merge.md).
  conflicts::writer w;
  if (s.row && s.commit_ms) {
    if (auto c = conflicts::hlc::make(*s.commit_ms, 0, "postgres")) w.clock = *c;
  }
  return w;
}

std::optional<clock_map> field_clocks(const row_state& s) {
  if (s.clocks_set) return s.field_clocks;
  if (!stored_clocks_valid(s)) return std::nullopt;
  clock_map out;
  for (const auto& [field, text] : s.stored->field_clocks) {
    if (!text.is_string()) continue;
    if (auto c = conflicts::hlc::parse(text.get_string())) out.emplace(std::string(field), *c);
  }
  return out;
}

// The row a client may be shown: only what its read scope covers.
json::value visible_row(const std::optional<json::object>& row, const collection_access& access,
                        const principal& who) {
  if (!row || row->empty()) return nullptr;
  auto scope = bind_read_scope(access, who);
  if (!scope || !protocol::matches(*scope, *row)) return nullptr;
  return *row;
}

protocol::change_op change_op_of(protocol::mutation_op op) {
  switch (op) {
    case protocol::mutation_op::insert: return protocol::change_op::insert;
    case protocol::mutation_op::update: return protocol::change_op::update;
    case protocol::mutation_op::remove: return protocol::change_op::remove;
  }
  return protocol::change_op::remove;
}

conflicts::row_merge_input merge_input(const planned_mutation& p, const row_state& state,
                                       const decide_context& ctx) {
  conflicts::row_merge_input in;
  in.op = change_op_of(p.m->op);
  in.changes = p.checked->changes;
  in.base = p.checked->base;
  if (p.m->base_version && state.log && !state.log->deleted && *p.m->base_version == state.log->version) {
    // The log holds the version the client's edit started from: its values stand in for
    // base values the client left out. Those it sent win: they include its own earlier
    // edits of the row, made offline on top of that version.
    if (in.op == protocol::change_op::remove) {
      if (in.base.empty()) in.base = state.log->row;
    } else {
      for (const auto& [field, v] : in.changes) {
        const auto* seen = state.log->row.if_contains(field);
        if (seen && !in.base.contains(field)) in.base[field] = *seen;
      }
    }
  }
  in.current = state.row;
  if (!state.row && state.log && state.log->deleted && !state.own) in.tombstone = state.log->row;
  in.client.client_id = ctx.client_id;
  in.client.clock = p.clock;
  in.server = server_writer(state);
  in.server_field_clocks = field_clocks(state);
  in.schema = &p.access->schema;
  return in;
}

// What to write: the columns whose value changes, as PostgreSQL text. An insert (or an
// update that recreates a deleted row) sends every column the row has.
boost::system::result<storage::column_values, protocol::mutation_problem> changed_columns(
    const protocol::collection_schema& schema, const row_state& state,
    const conflicts::row_merge_result& mr, const std::optional<json::object>& after,
    const protocol::mutation_limits& limits) {
  storage::column_values values;
  const bool whole_row = mr.action == conflicts::row_action::insert ||
                         (mr.action == conflicts::row_action::update && !state.row);
  if (!whole_row && mr.action != conflicts::row_action::update) return values;
  for (const auto& column : schema.columns) {
    const auto* v = after->if_contains(column.name);
    if (!v) continue;
    if (!whole_row) {
      const auto* cur = state.row->if_contains(column.name);
      if (cur && conflicts::same_value(*v, *cur, column.type)) continue;
    }
    auto text = protocol::column_text(column, *v, limits);
    if (!text) return text.error();
    values.emplace_back(column.name, std::move(*text));
  }
  return values;
}

std::optional<row_write> write_of(std::size_t i, const planned_mutation& p, const row_state& state,
                                  const conflicts::row_merge_result& mr,
                                  const std::optional<json::object>& after, storage::column_values values) {
  const auto& schema = p.access->schema;
  const bool exists = state.row.has_value();
  const bool upsert = mr.action == conflicts::row_action::insert || mr.action == conflicts::row_action::update;
  std::vector<std::string> now;
  if (p.rules) {
    now = p.rules->now;
    std::erase_if(values, [&](const auto& v) {
      return std::find(now.begin(), now.end(), v.first) != now.end();
    });
  }
  if (!exists && after && upsert) {
    return row_write{row_write::kind::insert, i,   &schema, {}, std::move(values),
                     std::move(now),          true};
  }
  if (exists && mr.action == conflicts::row_action::update && !values.empty()) {
    return row_write{
        row_write::kind::update, i,    &schema, key_texts(schema, *p.checked), std::move(values),
        std::move(now),          false};
  }
  if (exists && mr.action == conflicts::row_action::remove) {
    return row_write{
        row_write::kind::remove, i, &schema, key_texts(schema, *p.checked), {}, {}, false};
  }
  return std::nullopt;
}

// A row an insert leaves columns of to their defaults (or to the server): its scope is only
// known as the database stores it, and the insert statement checks it there.
bool incomplete(const protocol::collection_schema& schema, const json::object& row) {
  return std::any_of(schema.columns.begin(), schema.columns.end(),
                     [&](const auto& c) { return !row.contains(c.name); });
}

// Decides one batch. Holds what the mutations decided so far: the answers, the writes and
// the records of clocks and conflicts.
class batch_decider {
 public:
  batch_decider(const decide_context& ctx, const std::vector<storage::stored_result>& stored)
      : ctx_(ctx) {
    for (const auto& s : stored) originals_[s.mutation_id] = &s;
  }

  void decide(std::size_t i, const planned_mutation& p, row_states& rows) {
    if (p.m->mutation_id <= ctx_.last_mutation_id) return duplicate(p.m->mutation_id);
    if (p.problem) {
      return record(p, rejection(p.m->mutation_id, protocol::code(p.problem->code), p.problem->message), false);
    }
    decide_new(i, p, rows[{p.access->schema.name, p.checked->key_text}]);
  }

  batch_decision finish(std::int64_t batch_last_id) && {
    out_.last_mutation_id = std::max(ctx_.last_mutation_id, batch_last_id);
    for (auto& [k, v] : clock_records_) out_.clocks.push_back(std::move(v));
    return std::move(out_);
  }

 private:
  void duplicate(std::int64_t id) {
    json::object dup{{"mutation_id", id}, {"status", "duplicate"}, {"original", nullptr}};
    if (auto it = originals_.find(id); it != originals_.end()) {
      out_.duplicate_positions.push_back(out_.results.size());
      out_.duplicate_originals.push_back(*it->second);
    } else {
      dup["message"] = "applied before; its result is no longer kept";
    }
    out_.results.push_back(std::move(dup));
    out_.wrote.push_back(false);
  }

  void record(const planned_mutation& p, json::object r, bool wrote) {
    const std::string key_text = p.checked ? p.checked->key_text : std::string();
    out_.stored_results.push_back(
        json::object{{"mutation_id", p.m->mutation_id},
                     {"result", stored_copy(r)},
                     {"collection", p.m->collection},
                     {"key", key_text.empty() ? json::value(nullptr) : json::value(key_text)},
                     {"wrote", wrote}});
    out_.results.push_back(std::move(r));
    out_.wrote.push_back(wrote);
  }

  void record_conflict(const planned_mutation& p, const conflicts::row_merge_result& mr,
                       std::string_view outcome, json::value reason) {
    out_.conflicts.push_back(json::object{
        {"collection", p.access->schema.name},
        {"key", p.checked->key_text},
        {"mutation_id", p.m->mutation_id},
        {"op", protocol::to_string(p.m->op)},
        {"outcome", outcome},
        {"reason", std::move(reason)},
        {"row_policy", mr.row_policy.empty() ? json::value(nullptr) : json::value(mr.row_policy)},
        {"fields", conflicts_json(mr.conflicts)},
    });
  }

  void decide_new(std::size_t i, const planned_mutation& p, row_state& state) {
    const auto id = p.m->mutation_id;
    auto write_scope = bind_write_scope(*p.access, ctx_.who);  // bound when planned: cannot fail here
    if (state.row && write_scope && !protocol::matches(*write_scope, *state.row)) {
      return record(p, rejection(id, "forbidden", "the row is outside your write scope"), false);
    }
    const auto version = current_version(state);
    static const conflicts::merge_config defaults;
    auto merged = conflicts::merge_row(p.merge ? *p.merge : defaults, ctx_.registry, merge_input(p, state, ctx_));
    if (!merged) return record(p, rejection(id, "bad_mutation", "the collection's merge config is invalid"), false);
    const auto& mr = *merged;
    if (mr.outcome == conflicts::row_outcome::rejected) return reject(p, state, version, mr);
    std::optional<json::object> after;
    if (mr.action != conflicts::row_action::remove) after = mr.row.empty() && state.row ? *state.row : mr.row;
    if (after && !after->empty() && write_scope && !protocol::matches(*write_scope, *after) &&
        !(!state.row && incomplete(p.access->schema, *after))) {
      return record(p, rejection(id, "forbidden", "the row would leave your write scope"), false);
    }
    auto values = changed_columns(p.access->schema, state, mr, after, ctx_.values);
    if (!values) return record(p, rejection(id, protocol::code(values.error().code), values.error().message), false);
    auto write = write_of(i, p, state, mr, after, std::move(*values));
    const bool wrote = write.has_value();
    if (write) out_.writes.push_back(std::move(*write));
    advance(p, state, mr, after, wrote);
    accept(p, state, version, mr, wrote);
  }

  void reject(const planned_mutation& p, const row_state& state, const std::optional<lsn>& version,
              const conflicts::row_merge_result& mr) {
    auto code = reason_text(mr.reason);
    json::object r = rejection(p.m->mutation_id, code, reason_message(code, mr.rejected_fields));
    r["row"] = visible_row(state.row, *p.access, ctx_.who);
    r["version"] = version_json(version);
    json::array fields;
    for (const auto& f : mr.rejected_fields) fields.push_back(json::value(f));
    r["fields"] = std::move(fields);
    r["conflicts"] = conflicts_json(mr.conflicts);
    record_conflict(p, mr, "rejected", json::value(code));
    record(p, std::move(r), false);
  }

  // The row as it is after this mutation, for the batch's later mutations, and the clocks
  // to record for it.
  void advance(const planned_mutation& p, row_state& state, const conflicts::row_merge_result& mr,
               const std::optional<json::object>& after, bool wrote) {
    auto previous_clocks = field_clocks(state);
    state.clocks_set = true;
    state.last_writer.client_id = ctx_.client_id;
    state.last_writer.clock = mr.row_clock;
    state.field_clocks = previous_clocks.value_or(clock_map{});
    for (const auto& [f, clock] : mr.field_clocks) state.field_clocks.insert_or_assign(f, clock);
    if (wrote) {
      state.own = true;
      state.row = mr.action == conflicts::row_action::remove ? std::nullopt : after;
    }
    state.deleted_mark = !state.row.has_value();
    json::object field_clock_json;
    for (const auto& [f, clock] : state.field_clocks) field_clock_json[f] = clock.to_string();
    const row_key key{p.access->schema.name, p.checked->key_text};
    // Nothing to remember (no clock on either side, none stored): a row without a record
    // has an unknown writer, which is what this one is.
    const bool nothing = !mr.row_clock && field_clock_json.empty() && !state.stored && !clock_records_.contains(key);
    if (nothing) return;
    clock_records_[key] = json::object{
        {"collection", key.first},
        {"key", key.second},
        {"own", state.own},
        {"xid", static_cast<std::int64_t>(state.xmin)},
        {"client_id", ctx_.client_id},
        {"row_clock", mr.row_clock ? json::value(mr.row_clock->to_string()) : json::value(nullptr)},
        {"field_clocks", std::move(field_clock_json)},
        {"deleted", state.deleted_mark},
    };
  }

  void accept(const planned_mutation& p, const row_state& state, const std::optional<lsn>& version,
              const conflicts::row_merge_result& mr, bool wrote) {
    json::object result{{"mutation_id", p.m->mutation_id}};
    if (mr.outcome == conflicts::row_outcome::applied) {
      result["status"] = "applied";
    } else {
      result["status"] = "merged";
      result["row"] = visible_row(state.row, *p.access, ctx_.who);
      result["conflicts"] = conflicts_json(mr.conflicts);
      if (!mr.row_policy.empty()) result["row_policy"] = mr.row_policy;
    }
    // A write's version is the commit's, filled in once the log names it.
    if (!wrote) result["version"] = version_json(state.own ? std::nullopt : version);
    if (!mr.conflicts.empty() || !mr.row_policy.empty()) record_conflict(p, mr, "merged", nullptr);
    record(p, std::move(result), wrote);
  }

  const decide_context& ctx_;
  std::map<std::int64_t, const storage::stored_result*> originals_;
  std::map<row_key, json::object> clock_records_;
  batch_decision out_;
};

}  // namespace

json::value version_json(const std::optional<lsn>& version) {
  if (!version) return nullptr;
  return json::value(version->to_string());
}

batch_decision decide_batch(const std::vector<planned_mutation>& plans,
                            const std::vector<storage::stored_result>& stored, row_states rows,
                            const decide_context& ctx) {
  batch_decider decider(ctx, stored);
  for (std::size_t i = 0; i < plans.size(); ++i) decider.decide(i, plans[i], rows);
  return std::move(decider).finish(plans.empty() ? 0 : plans.back().m->mutation_id);
}

}  // namespace fieldsync::server
