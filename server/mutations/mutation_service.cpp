#include "server/mutations/mutation_service.hpp"

#include "conflicts/canonical_value.hpp"
#include "conflicts/hlc.hpp"
#include "conflicts/merge_errc.hpp"
#include "conflicts/row_merge.hpp"
#include "protocol/filter/filter.hpp"
#include "protocol/value_json.hpp"
#include "storage/mutation_schema.hpp"
#include "storage/mutation_sql.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <unistd.h>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::lsn;
using protocol::mutation_errc;
using protocol::mutation_problem;

namespace {

// The test-only fault hook (docs/mutations.md "Fault injection"): with this variable set to
// kill-after-mutation-commit, the process kills itself with SIGKILL right after the first
// batch commits and before its answer is sent: what a crash at the worst moment looks like.
constexpr const char* fault_variable = "FIELDSYNC_FAULT";
constexpr std::string_view kill_after_commit = "kill-after-mutation-commit";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

mutation_reply refuse(http::status status, std::string_view code, std::string_view message,
                      json::object extra = {}) {
  json::object error{{"code", code}, {"message", message}};
  for (auto& [k, v] : extra) error[k] = std::move(v);
  return {status, json::object{{"error", std::move(error)}}};
}

json::value optional_json(const std::optional<lsn>& v) {
  if (!v) return nullptr;
  return json::value(v->to_string());
}

json::object rejection(std::int64_t id, std::string_view code, std::string_view message) {
  return json::object{{"mutation_id", id}, {"status", "rejected"}, {"code", code}, {"message", message}};
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

// A mutation after the checks that need no database.
struct plan {
  const protocol::mutation* m = nullptr;
  const collection_access* access = nullptr;
  const conflicts::merge_config* merge = nullptr;
  std::optional<protocol::checked_mutation> checked;
  std::optional<mutation_problem> problem;  // rejected with it
  std::optional<conflicts::hlc> clock;
};

// A row as the batch sees it: read under its lock, then changed by earlier mutations of
// the same batch.
struct row_state {
  std::optional<json::object> row;
  std::uint32_t xmin = 0;
  std::optional<std::int64_t> commit_ms;
  std::optional<storage::stored_clocks> stored;
  std::optional<storage::log_row> log;
  bool own = false;  // this transaction wrote it
  // Clocks computed in this batch (own, or recorded without a write).
  bool clocks_set = false;
  conflicts::writer last_writer;
  std::map<std::string, conflicts::hlc, std::less<>> field_clocks;
  bool deleted_mark = false;
};

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

std::optional<std::map<std::string, conflicts::hlc, std::less<>>> field_clocks(const row_state& s) {
  if (s.clocks_set) return s.field_clocks;
  if (!stored_clocks_valid(s)) return std::nullopt;
  std::map<std::string, conflicts::hlc, std::less<>> out;
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

bool retryable(const storage::pg_error& e) {
  return e.sqlstate == "40P01" || e.sqlstate == "40001";
}

}  // namespace

// One attempt of a batch's transaction, and what it decided.
struct mutation_service::impl {
  struct outcome {
    json::array results;
    std::vector<bool> wrote;  // per result: its version comes from the commit
    std::vector<std::size_t> duplicate_positions;  // results that are duplicates with a stored original
    std::vector<storage::stored_result> duplicate_originals;
    std::int64_t last_mutation_id = 0;
    std::optional<std::uint32_t> xid;
    std::optional<lsn> log_high;
  };
};

mutation_service::mutation_service(asio::any_io_executor ex,
                                   std::shared_ptr<storage::pg_pool> source,
                                   std::shared_ptr<storage::pg_pool> storage,
                                   const collection_registry& collections,
                                   std::map<std::string, conflicts::merge_config> merges,
                                   mutation_options options)
    : ex_(ex),
      source_(std::move(source)),
      storage_(std::move(storage)),
      collections_(collections),
      merges_(std::move(merges)),
      registry_(conflicts::strategy_registry::builtin()),
      options_(std::move(options)),
      prune_timer_(ex) {
  const char* fault = std::getenv(fault_variable);
  kill_after_commit_ = fault && std::string_view(fault) == kill_after_commit;
}

asio::awaitable<std::shared_ptr<mutation_service>> mutation_service::async_create(
    asio::any_io_executor ex, std::shared_ptr<storage::pg_pool> source,
    std::shared_ptr<storage::pg_pool> storage, const collection_registry& collections,
    std::map<std::string, conflicts::merge_config> merges, mutation_options options) {
  auto self = std::shared_ptr<mutation_service>(new mutation_service(
      ex, std::move(source), std::move(storage), collections, std::move(merges), std::move(options)));
  for (const auto& access : collections.all()) {
    auto& m = self->merges_[access.schema.name];
    m.collection = access.schema.name;
    auto problems = conflicts::validate_merge_config(m, self->registry_, &access.schema);
    if (!problems.empty()) {
      throw std::runtime_error("collections." + access.schema.name + ".merge: " + problems.front().message);
    }
  }
  auto conn = co_await self->source_->async_acquire();
  if (!conn) throw std::runtime_error("mutations: " + conn.error().to_string());
  auto migrated = co_await storage::async_migrate_mutation_schema(**conn);
  if (!migrated) throw std::runtime_error("mutations: " + migrated.error().to_string());
  auto tracked = co_await (*conn)->async_query("SELECT current_setting('track_commit_timestamp')");
  self->commit_times_ = tracked && tracked->rows() == 1 && tracked->value(0, 0) == "on";
  if (self->kill_after_commit_) {
    spdlog::warn("{}={}: this process kills itself after its first mutation commit", fault_variable,
                 kill_after_commit);
  }
  self->versions_ =
      storage::commit_version_waiter::create(ex, self->storage_, self->options_.changes);
  asio::co_spawn(ex, self->prune_loop(), asio::detached);
  co_return self;
}

void mutation_service::stop() {
  stopped_ = true;
  prune_timer_.cancel();
  if (versions_) versions_->stop();
}

asio::awaitable<void> mutation_service::prune_loop() {
  auto self = shared_from_this();
  while (!stopped_) {
    prune_timer_.expires_after(std::chrono::minutes(10));
    auto [ec] = co_await prune_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopped_) co_return;
    std::vector<storage::pg_statement> prunes;
    prunes.push_back(storage::prune_conflicts_statement(options_.conflict_retention));
    prunes.push_back(storage::prune_deleted_clocks_statement(options_.clock_retention));
    for (const auto& st : prunes) {
      auto r = co_await source_->async_query(st.sql, st.params);
      if (!r) spdlog::warn("pruning the mutation bookkeeping: {}", r.error().to_string());
    }
  }
}

asio::awaitable<mutation_reply> mutation_service::async_list_conflicts(
    std::int64_t before, std::int64_t limit, const std::string& collection,
    const std::string& client_id) {
  auto st = storage::list_conflicts_statement(before, limit, collection, client_id);
  auto r = co_await source_->async_query(st.sql, st.params);
  if (!r) {
    co_return refuse(http::status::service_unavailable, "database_unavailable", r.error().to_string());
  }
  auto list = storage::read_conflicts(*r);
  if (!list) co_return refuse(http::status::internal_server_error, "internal", list.error().to_string());
  json::value next = nullptr;
  if (static_cast<std::int64_t>(list->size()) == limit && !list->empty()) {
    next = list->back().as_object().at("id");
  }
  co_return mutation_reply{http::status::ok, json::object{{"conflicts", std::move(*list)}, {"next_before", next}}};
}

asio::awaitable<mutation_reply> mutation_service::async_apply(const principal& who,
                                                              const json::value& request) {
  auto self = shared_from_this();
  auto parsed = protocol::parse_mutation_batch(request, options_.batch);
  if (!parsed) co_return refuse(http::status::bad_request, parsed.error().code, parsed.error().message);
  const auto& batch = *parsed;
  if (who.subject.empty()) {
    co_return refuse(http::status::forbidden, "forbidden",
                     "pushing mutations needs a token with a subject (sub): a client id belongs to one");
  }
  if (batch.mutations.empty()) {
    co_return mutation_reply{http::status::ok, json::object{{"client_id", batch.client_id},
                                                            {"last_mutation_id", nullptr},
                                                            {"results", json::array()}}};
  }

  // Everything that needs no database, once for all attempts.
  std::vector<plan> plans(batch.mutations.size());
  const auto now = now_ms();
  for (std::size_t i = 0; i < plans.size(); ++i) {
    auto& p = plans[i];
    p.m = &batch.mutations[i];
    p.access = collections_.find(p.m->collection);
    if (p.m->problem) {
      p.problem = p.m->problem;
      continue;
    }
    if (!p.access) {
      p.problem = mutation_problem{mutation_errc::unknown_collection, "no collection " + p.m->collection};
      continue;
    }
    if (auto scope = bind_write_scope(*p.access, who); !scope) {
      p.problem = mutation_problem{mutation_errc::forbidden, scope.error().message};
      continue;
    }
    auto merge = merges_.find(p.m->collection);
    p.merge = merge == merges_.end() ? nullptr : &merge->second;
    auto checked = protocol::check_mutation(*p.m, p.access->schema, options_.values);
    if (!checked) {
      p.problem = checked.error();
      continue;
    }
    p.checked = std::move(*checked);
    if (!p.m->client_ts.empty()) {
      auto clock = conflicts::hlc::parse(p.m->client_ts);
      if (!clock) {
        p.problem = mutation_problem{mutation_errc::bad_clock, "client_ts: " + clock.error().message()};
        continue;
      }
      if (clock->node() != batch.client_id) {
        p.problem = mutation_problem{mutation_errc::bad_clock, "client_ts: the clock's node must be the client id"};
        continue;
      }
      if (clock->physical_ms() - now > options_.max_clock_drift.count()) {
        p.problem = mutation_problem{mutation_errc::clock_drift,
                                     "client_ts is more than " + std::to_string(options_.max_clock_drift.count()) +
                                         " ms ahead of the server's clock"};
        continue;
      }
      p.clock = *clock;
    }
  }

  // Mutations the database refused in an earlier attempt, and inserts that met a
  // concurrent insert of their key once (the next attempt sees that row).
  std::map<std::size_t, storage::pg_error> refused_writes;
  std::set<std::size_t> insert_races;
  const std::size_t max_attempts = plans.size() + 4;
  for (std::size_t attempt = 0; attempt < max_attempts; ++attempt) {
    for (const auto& [i, e] : refused_writes) {
      plans[i].problem = mutation_problem{mutation_errc::constraint_violation,
                                          "the database refused the write" +
                                              (e.sqlstate.empty() ? std::string() : " (" + e.sqlstate + ")") +
                                              ": " + e.message};
    }

    auto conn = co_await source_->async_acquire();
    if (!conn) {
      co_return refuse(http::status::service_unavailable, "database_unavailable", conn.error().to_string());
    }
    auto& c = **conn;
    if (options_.storage_is_source && !log_ready_) {
      auto r = co_await c.async_query("SELECT to_regclass('fieldsync.changes') IS NOT NULL");
      log_ready_ = r && r->rows() == 1 && r->value(0, 0) == "t";
    }

    // Pipeline 1: begin, lock the client, read stored results, lock and read the rows.
    const auto first_id = batch.mutations.front().mutation_id;
    const auto last_id = batch.mutations.back().mutation_id;
    std::vector<storage::pg_statement> reads;
    reads.push_back(storage::begin_statement());
    reads.push_back(storage::lock_timeout_statement(options_.lock_timeout));
    reads.push_back(storage::create_client_statement(batch.client_id, who.subject));
    const std::size_t client_at = reads.size();
    reads.push_back(storage::lock_client_statement(batch.client_id));
    const std::size_t results_at = reads.size();
    reads.push_back(storage::stored_results_statement(batch.client_id, first_id, last_id));
    struct collection_reads {
      const collection_access* access = nullptr;
      std::vector<std::string> keys;
      // The keys whose log version matters: a base_version to compare, or a deleted row's
      // last values for update-wins. Other results that write nothing report no version.
      std::vector<std::string> log_keys;
      std::size_t rows_at = 0, clocks_at = 0, log_at = 0;
      bool log = false;
    };
    std::map<std::string, collection_reads> by_collection;  // name order: the lock order
    for (const auto& p : plans) {
      if (p.problem || !p.checked) continue;
      auto& cr = by_collection[p.access->schema.name];
      cr.access = p.access;
      if (std::find(cr.keys.begin(), cr.keys.end(), p.checked->key_text) == cr.keys.end()) {
        cr.keys.push_back(p.checked->key_text);
      }
      bool needs_log = p.m->base_version ||
                       (p.merge && p.merge->update_deleted == conflicts::update_deleted_policy::update_wins);
      if (needs_log && std::find(cr.log_keys.begin(), cr.log_keys.end(), p.checked->key_text) == cr.log_keys.end()) {
        cr.log_keys.push_back(p.checked->key_text);
      }
    }
    // The log's high-water mark before this transaction commits: its commit LSN is above it.
    std::optional<std::size_t> high_at;
    if (log_ready_) {
      high_at = reads.size();
      reads.push_back(storage::log_high_statement());
    }
    for (auto& [name, cr] : by_collection) {
      std::vector<std::vector<std::string>> key_texts;
      for (const auto& p : plans) {
        if (p.problem || !p.checked || p.access != cr.access) continue;
        std::vector<std::string> texts;
        for (const auto& column : cr.access->schema.primary_key) {
          auto t = protocol::json_to_text(cr.access->schema.find(column)->type, p.checked->key.at(column));
          texts.push_back(t ? *t : std::string());
        }
        if (std::find(key_texts.begin(), key_texts.end(), texts) == key_texts.end()) key_texts.push_back(std::move(texts));
      }
      cr.rows_at = reads.size();
      reads.push_back(storage::lock_rows_statement(cr.access->schema, key_texts, commit_times_));
      cr.clocks_at = reads.size();
      reads.push_back(storage::clocks_statement(name, cr.keys));
      if (log_ready_ && !cr.log_keys.empty()) {
        cr.log = true;
        cr.log_at = reads.size();
        reads.push_back(storage::log_rows_statement(name, cr.log_keys));
      }
    }
    auto read = co_await c.async_pipeline(reads);
    if (!read) {
      (void)co_await c.async_exec("ROLLBACK");
      const auto& e = read.error().error;
      if (e.sqlstate == "55P03") {
        co_return refuse(http::status::service_unavailable, "row_locked",
                         "a row of the batch is locked by another transaction; retry");
      }
      if (e.sqlstate == "42P01") {
        log_ready_ = false;
        continue;
      }
      if (retryable(e)) continue;
      co_return refuse(http::status::service_unavailable, "database_unavailable", e.to_string());
    }
    const auto& rs = *read;
    auto client = storage::read_client(rs[client_at]);
    if (!client) {
      (void)co_await c.async_exec("ROLLBACK");
      co_return refuse(http::status::internal_server_error, "internal", client.error().to_string());
    }
    if (client->owner != who.subject) {
      (void)co_await c.async_exec("ROLLBACK");
      co_return refuse(http::status::forbidden, "client_not_yours",
                       "client id " + batch.client_id + " belongs to another user");
    }
    const std::int64_t last = client->last_mutation_id;
    if (first_id > last + 1) {
      (void)co_await c.async_exec("ROLLBACK");
      co_return refuse(http::status::conflict, "mutation_gap",
                       "the next mutation id of client " + batch.client_id + " is " +
                           std::to_string(last + 1) + ", this batch starts at " + std::to_string(first_id) +
                           ": resend from it (renumber mutations that were never answered)",
                       json::object{{"expected_mutation_id", last + 1}});
    }
    auto stored = storage::read_stored_results(rs[results_at]);
    if (!stored) {
      (void)co_await c.async_exec("ROLLBACK");
      co_return refuse(http::status::internal_server_error, "internal", stored.error().to_string());
    }

    // The rows, keyed by collection and canonical key.
    std::map<std::pair<std::string, std::string>, row_state> rows;
    bool read_failed = false;
    for (auto& [name, cr] : by_collection) {
      for (const auto& k : cr.keys) rows[{name, k}];
      auto locked = storage::read_locked_rows(rs[cr.rows_at], cr.access->schema, commit_times_);
      auto clocks = storage::read_clocks(rs[cr.clocks_at]);
      if (!locked || !clocks) {
        read_failed = true;
        break;
      }
      for (auto& l : *locked) {
        auto& s = rows[{name, l.key}];
        s.row = std::move(l.row);
        s.xmin = l.xmin;
        s.commit_ms = l.commit_ms;
      }
      for (auto& k : *clocks) rows[{name, k.key}].stored = std::move(k);
      std::optional<std::vector<storage::log_row>> logs;
      if (cr.log) {
        auto l = storage::read_log_rows(rs[cr.log_at]);
        if (l) logs = std::move(*l);
      } else if (!options_.storage_is_source && !cr.log_keys.empty()) {
        auto st = storage::log_rows_statement(name, cr.log_keys);
        auto r = co_await storage_->async_query(st.sql, st.params);
        if (r) {
          if (auto l = storage::read_log_rows(*r)) logs = std::move(*l);
        }  // no log (yet): versions unknown, merges by base values
      }
      if (logs) {
        for (auto& l : *logs) rows[{name, l.key}].log = std::move(l);
      }
    }
    if (read_failed) {
      (void)co_await c.async_exec("ROLLBACK");
      co_return refuse(http::status::internal_server_error, "internal", "unexpected rows from the database");
    }

    // Decide every mutation, in order; later ones see earlier ones' effects on their row.
    impl::outcome out;
    out.last_mutation_id = std::max(last, last_id);
    std::vector<storage::pg_statement> writes;
    std::vector<std::optional<std::size_t>> owner_of;  // per write statement: its mutation
    json::array stored_results;
    json::array conflict_records;
    std::map<std::pair<std::string, std::string>, json::object> clock_records;
    writes.reserve(plans.size() * 2 + 8);
    std::map<std::int64_t, const storage::stored_result*> originals;
    for (const auto& s : *stored) originals[s.mutation_id] = &s;

    for (std::size_t i = 0; i < plans.size(); ++i) {
      const auto& p = plans[i];
      const auto id = p.m->mutation_id;
      if (id <= last) {
        auto it = originals.find(id);
        json::object dup{{"mutation_id", id}, {"status", "duplicate"}, {"original", nullptr}};
        if (it != originals.end()) {
          out.duplicate_positions.push_back(out.results.size());
          out.duplicate_originals.push_back(*it->second);
        } else {
          dup["message"] = "applied before; its result is no longer kept";
        }
        out.results.push_back(std::move(dup));
        out.wrote.push_back(false);
        continue;
      }
      json::object result;
      bool wrote = false;
      std::string key_text = p.checked ? p.checked->key_text : std::string();
      auto record = [&](json::object r, bool w) {
        stored_results.push_back(json::object{{"mutation_id", id}, {"result", r},
                                              {"collection", p.m->collection},
                                              {"key", key_text.empty() ? json::value(nullptr) : json::value(key_text)},
                                              {"wrote", w}});
        out.results.push_back(std::move(r));
        out.wrote.push_back(w);
      };
      if (p.problem) {
        record(rejection(id, protocol::code(p.problem->code), p.problem->message), false);
        continue;
      }
      const auto& schema = p.access->schema;
      auto& state = rows[{schema.name, key_text}];
      auto write_scope = bind_write_scope(*p.access, who);  // bound above: cannot fail here
      if (state.row && write_scope && !protocol::matches(*write_scope, *state.row)) {
        record(rejection(id, "forbidden", "the row is outside your write scope"), false);
        continue;
      }

      conflicts::row_merge_input in;
      in.op = p.m->op == protocol::mutation_op::insert   ? protocol::change_op::insert
              : p.m->op == protocol::mutation_op::update ? protocol::change_op::update
                                                         : protocol::change_op::remove;
      in.changes = p.checked->changes;
      const auto version = current_version(state);
      in.base = p.checked->base;
      if (p.m->base_version && state.log && !state.log->deleted &&
          *p.m->base_version == state.log->version) {
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
      in.client.client_id = batch.client_id;
      in.client.clock = p.clock;
      in.server = server_writer(state);
      in.server_field_clocks = field_clocks(state);
      in.schema = &schema;
      static const conflicts::merge_config defaults;
      auto merged = conflicts::merge_row(p.merge ? *p.merge : defaults, registry_, in);
      if (!merged) {
        record(rejection(id, "bad_mutation", "the collection's merge config is invalid"), false);
        continue;
      }
      auto& mr = *merged;
      const bool has_conflict = !mr.conflicts.empty() || !mr.row_policy.empty();
      auto conflict_record = [&](std::string_view outcome_text, json::value reason) {
        conflict_records.push_back(json::object{
            {"collection", schema.name},
            {"key", key_text},
            {"mutation_id", id},
            {"op", protocol::to_string(p.m->op)},
            {"outcome", outcome_text},
            {"reason", std::move(reason)},
            {"row_policy", mr.row_policy.empty() ? json::value(nullptr) : json::value(mr.row_policy)},
            {"fields", conflicts_json(mr.conflicts)},
        });
      };
      if (mr.outcome == conflicts::row_outcome::rejected) {
        auto code = reason_text(mr.reason);
        json::object r = rejection(id, code, reason_message(code, mr.rejected_fields));
        r["row"] = visible_row(state.row, *p.access, who);
        r["version"] = optional_json(version);
        json::array fields;
        for (const auto& f : mr.rejected_fields) fields.push_back(json::value(f));
        r["fields"] = std::move(fields);
        r["conflicts"] = conflicts_json(mr.conflicts);
        conflict_record("rejected", json::value(code));
        record(std::move(r), false);
        continue;
      }
      std::optional<json::object> after;
      if (mr.action != conflicts::row_action::remove) {
        after = mr.row.empty() && state.row ? *state.row : mr.row;
      }
      if (after && !after->empty() && write_scope && !protocol::matches(*write_scope, *after)) {
        record(rejection(id, "forbidden", "the row would leave your write scope"), false);
        continue;
      }
      // What to write: the columns whose value changes, as PostgreSQL text.
      storage::column_values values;
      std::optional<mutation_problem> bad_value;
      if (mr.action == conflicts::row_action::insert ||
          (mr.action == conflicts::row_action::update && !state.row)) {
        for (const auto& column : schema.columns) {
          const auto* v = after->if_contains(column.name);
          if (!v) continue;
          auto text = protocol::column_text(column, *v, options_.values);
          if (!text) {
            bad_value = text.error();
            break;
          }
          values.emplace_back(column.name, std::move(*text));
        }
      } else if (mr.action == conflicts::row_action::update) {
        for (const auto& column : schema.columns) {
          const auto* v = after->if_contains(column.name);
          const auto* cur = state.row->if_contains(column.name);
          if (!v || (cur && conflicts::same_value(*v, *cur, column.type))) continue;
          auto text = protocol::column_text(column, *v, options_.values);
          if (!text) {
            bad_value = text.error();
            break;
          }
          values.emplace_back(column.name, std::move(*text));
        }
      }
      if (bad_value) {
        record(rejection(id, protocol::code(bad_value->code), bad_value->message), false);
        continue;
      }
      std::vector<std::string> key_values;
      for (const auto& column : schema.primary_key) {
        auto t = protocol::json_to_text(schema.find(column)->type, p.checked->key.at(column));
        key_values.push_back(t ? *t : std::string());
      }
      const bool exists = state.row.has_value();
      std::optional<storage::pg_statement> write;
      if (!exists && after && (mr.action == conflicts::row_action::insert || mr.action == conflicts::row_action::update)) {
        write = storage::insert_row_statement(schema, values);
      } else if (exists && mr.action == conflicts::row_action::update && !values.empty()) {
        write = storage::update_row_statement(schema, key_values, values);
      } else if (exists && mr.action == conflicts::row_action::remove) {
        write = storage::delete_row_statement(schema, key_values);
      }
      if (write) {
        writes.push_back(storage::origin_statement(batch.client_id, id, p.m->client_ts));
        owner_of.push_back(i);
        writes.push_back(std::move(*write));
        owner_of.push_back(i);
        wrote = true;
      }

      // The row as it is after this mutation, for the batch's later mutations.
      auto previous_clocks = field_clocks(state);
      state.clocks_set = true;
      state.last_writer.client_id = batch.client_id;
      state.last_writer.clock = mr.row_clock;
      state.field_clocks = previous_clocks.value_or(std::map<std::string, conflicts::hlc, std::less<>>{});
      for (const auto& [f, clock] : mr.field_clocks) state.field_clocks.insert_or_assign(f, clock);
      if (wrote) {
        state.own = true;
        state.row = mr.action == conflicts::row_action::remove ? std::nullopt : after;
      }
      state.deleted_mark = !state.row.has_value();
      json::object field_clock_json;
      for (const auto& [f, clock] : state.field_clocks) field_clock_json[f] = clock.to_string();
      // Nothing to remember (no clock on either side, none stored): a row without a record
      // has an unknown writer, which is what this one is.
      const bool nothing = !mr.row_clock && field_clock_json.empty() && !state.stored &&
                           !clock_records.contains({schema.name, key_text});
      if (!nothing) clock_records[{schema.name, key_text}] = json::object{
          {"collection", schema.name},
          {"key", key_text},
          {"own", state.own},
          {"xid", static_cast<std::int64_t>(state.xmin)},
          {"client_id", batch.client_id},
          {"row_clock", mr.row_clock ? json::value(mr.row_clock->to_string()) : json::value(nullptr)},
          {"field_clocks", std::move(field_clock_json)},
          {"deleted", state.deleted_mark},
      };

      if (mr.outcome == conflicts::row_outcome::applied) {
        result = json::object{{"mutation_id", id}, {"status", "applied"}};
      } else {
        result = json::object{{"mutation_id", id}, {"status", "merged"}};
        result["row"] = visible_row(state.row, *p.access, who);
        result["conflicts"] = conflicts_json(mr.conflicts);
        if (!mr.row_policy.empty()) result["row_policy"] = mr.row_policy;
      }
      if (!wrote) result["version"] = optional_json(state.own ? std::nullopt : version);
      if (has_conflict) conflict_record("merged", nullptr);
      record(std::move(result), wrote);
    }

    // Pipeline 2: the writes (each after its origin), the bookkeeping, the commit.
    json::array clocks;
    for (auto& [k, v] : clock_records) clocks.push_back(std::move(v));
    if (!clocks.empty()) {
      writes.push_back(storage::upsert_clocks_statement(clocks));
      owner_of.push_back(std::nullopt);
    }
    if (!stored_results.empty()) {
      writes.push_back(storage::insert_results_statement(
          batch.client_id, stored_results.front().as_object().at("mutation_id").as_int64(),
          stored_results.back().as_object().at("mutation_id").as_int64(), stored_results));
      owner_of.push_back(std::nullopt);
    }
    if (!conflict_records.empty()) {
      writes.push_back(storage::insert_conflicts_statement(batch.client_id, who.subject, conflict_records));
      owner_of.push_back(std::nullopt);
    }
    if (out.last_mutation_id > last) {
      writes.push_back(storage::advance_client_statement(batch.client_id, out.last_mutation_id));
      owner_of.push_back(std::nullopt);
      if (out.last_mutation_id - options_.result_retention > 0) {
        writes.push_back(storage::prune_results_statement(batch.client_id,
                                                          out.last_mutation_id - options_.result_retention));
        owner_of.push_back(std::nullopt);
      }
    }
    const std::size_t xid_at = writes.size();
    writes.push_back(storage::current_xid_statement());
    owner_of.push_back(std::nullopt);
    writes.push_back(storage::commit_statement());
    owner_of.push_back(std::nullopt);
    out.log_high = versions_ ? versions_->high() : std::nullopt;
    if (!out.log_high && high_at && rs[*high_at].rows() == 1) out.log_high = lsn::parse(rs[*high_at].value(0, 0));

    auto written = co_await c.async_pipeline(writes);
    if (!written) {
      const auto& err = written.error();
      if (err.index < writes.size()) (void)co_await c.async_exec("ROLLBACK");
      const auto& e = err.error;
      if (retryable(e)) continue;
      if (e.sqlstate == "55P03") {
        co_return refuse(http::status::service_unavailable, "row_locked",
                         "a row of the batch is locked by another transaction; retry");
      }
      if (err.index < owner_of.size() && owner_of[err.index] && !e.sqlstate.empty() &&
          e.code == make_error_code(storage::pg_errc::query_failed)) {
        auto m = *owner_of[err.index];
        if (e.sqlstate == "23505" && plans[m].m->op == protocol::mutation_op::insert && !insert_races.contains(m)) {
          insert_races.insert(m);  // a concurrent insert of the key: the next attempt sees it
          continue;
        }
        refused_writes.emplace(m, e);
        continue;
      }
      if (e.code != storage::pg_errc::query_failed) {
        // The connection broke after the commit may have been sent: the outcome is unknown
        // here, and the retry the client makes answers duplicate for what was applied.
        co_return refuse(http::status::service_unavailable, "database_unavailable",
                         "the connection to the database broke; push the batch again (what it "
                         "applied answers duplicate): " +
                             e.to_string());
      }
      co_return refuse(http::status::service_unavailable, "database_unavailable",
                       "the batch was not applied: " + e.to_string());
    }
    if (kill_after_commit_) {
      spdlog::warn("fault injection: killing this process after a mutation commit");
      ::kill(::getpid(), SIGKILL);
    }
    if (auto x = storage::read_current_xid((*written)[xid_at])) out.xid = *x;
    // Back to the pool before waiting and reading the log: with the log in the source
    // database both share one pool, and a batch must never hold one connection while it
    // waits for another.
    *conn = storage::pooled_connection{};

    // The version the writes made, once the log names it (bounded wait).
    std::optional<lsn> committed;
    bool any_write = std::find(out.wrote.begin(), out.wrote.end(), true) != out.wrote.end();
    if (any_write && out.xid && out.log_high && options_.version_wait.count() > 0 && versions_) {
      committed = co_await versions_->async_wait(*out.xid, *out.log_high,
                                                 std::chrono::steady_clock::now() + options_.version_wait);
    }
    for (std::size_t r = 0; r < out.results.size(); ++r) {
      if (out.wrote[r]) out.results[r].as_object()["version"] = optional_json(committed);
    }

    // Duplicates: the original results, with the versions their writes made.
    if (!out.duplicate_positions.empty()) {
      json::array lookups;
      for (std::size_t d = 0; d < out.duplicate_originals.size(); ++d) {
        const auto& o = out.duplicate_originals[d];
        if (o.xid && !o.key.empty()) {
          lookups.push_back(json::object{{"i", static_cast<std::int64_t>(d)}, {"c", o.collection},
                                         {"k", o.key}, {"x", static_cast<std::int64_t>(*o.xid)}});
        }
      }
      std::map<std::size_t, std::optional<lsn>> found;
      if (!lookups.empty() && (!options_.storage_is_source || log_ready_)) {
        auto st = storage::duplicate_versions_statement(lookups);
        auto r = co_await storage_->async_query(st.sql, st.params);
        if (r) {
          for (int row = 0; row < r->rows(); ++row) {
            auto d = static_cast<std::size_t>(std::stoul(std::string(r->value(row, 0))));
            if (auto v = r->get(row, 1)) found[d] = lsn::parse(*v);
          }
        }
      }
      for (std::size_t d = 0; d < out.duplicate_originals.size(); ++d) {
        auto original = out.duplicate_originals[d].result;
        if (out.duplicate_originals[d].xid && !original.contains("version")) {
          auto it = found.find(d);
          original["version"] = optional_json(it == found.end() ? std::nullopt : it->second);
        }
        out.results[out.duplicate_positions[d]].as_object()["original"] = std::move(original);
      }
    }
    co_return mutation_reply{http::status::ok,
                             json::object{{"client_id", batch.client_id},
                                          {"last_mutation_id", out.last_mutation_id},
                                          {"results", std::move(out.results)}}};
  }
  co_return refuse(http::status::service_unavailable, "database_unavailable",
                   "the batch met conflicting transactions too often; retry");
}

}  // namespace fieldsync::server
