#include "server/mutations/mutation_service.hpp"
#include "storage/sqlstate.hpp"

#include "protocol/filter/filter.hpp"
#include "server/core/spawn_logged.hpp"
#include "server/mutations/batch_transaction.hpp"
#include "server/mutations/mutation_decide.hpp"
#include "server/mutations/mutation_plan.hpp"
#include "storage/mutation_schema.hpp"
#include "storage/mutation_sql.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <variant>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;
namespace sqlstate = storage::sqlstate;
using protocol::lsn;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

mutation_refusal unavailable(std::string message) {
  return {refusal_kind::unavailable, "database_unavailable", std::move(message), {}};
}

mutation_refusal internal(std::string message) {
  return {refusal_kind::internal, "internal", std::move(message), {}};
}

mutation_refusal row_locked() {
  return {refusal_kind::unavailable, "row_locked", "a row of the batch is locked by another transaction; retry", {}};
}

bool retryable(const storage::pg_error& e) {
  return e.sqlstate == sqlstate::deadlock_detected || e.sqlstate == sqlstate::serialization_failure;
}

// The batch runs again: after a deadlock or a serialization failure as it was, after a
// refused write without that mutation.
struct retry_attempt {};

// What the tries of one batch learned from the database: the mutations whose write it
// refused (rejected from then on), and the inserts that met a concurrent insert of their
// key once (the next try sees that row and merges with it).
struct retry_memory {
  std::map<std::size_t, storage::pg_error> refused_writes;
  std::set<std::size_t> insert_races;

  void apply(std::vector<planned_mutation>& plans) const {
    for (const auto& [i, e] : refused_writes) {
      if (e.sqlstate == storage::outside_write_scope_sqlstate) {
        plans[i].problem = protocol::mutation_problem{
            protocol::mutation_errc::forbidden,
            "the row as stored (with the table's defaults) would be outside your write scope"};
        continue;
      }
      plans[i].problem = protocol::mutation_problem{
          protocol::mutation_errc::constraint_violation,
          "the database refused the write" + (e.sqlstate.empty() ? std::string() : " (" + e.sqlstate + ")") +
              ": " + e.message};
    }
  }
};

// Pipeline 1 and where each result is in it.
struct read_pipeline {
  struct collection_slots {
    std::size_t read_at = 0, rows_at = 0, clocks_at = 0, log_at = 0;
    bool log = false;  // the log's rows are read in the pipeline (same database)
  };
  std::vector<storage::pg_statement> statements;
  std::size_t client_at = 0, results_at = 0;
  std::optional<std::size_t> high_at;
  std::map<std::string, collection_slots> slots;
};

// What pipeline 1 read, for the decision.
struct batch_reads {
  std::int64_t last = 0;  // the client's last mutation id
  std::vector<storage::stored_result> stored;
  row_states rows;
  // The log's high-water mark before this transaction commits (its commit LSN is above).
  std::optional<lsn> log_high;
};

// Pipeline 2 and which mutation each statement writes for.
struct write_pipeline {
  std::vector<storage::pg_statement> statements;
  std::vector<std::optional<std::size_t>> owner_of;
  std::size_t xid_at = 0;

  void add(storage::pg_statement st, std::optional<std::size_t> owner = std::nullopt) {
    statements.push_back(std::move(st));
    owner_of.push_back(owner);
  }
};

// The caller's write scope as SQL over the table's columns, its parameters numbered after
// `offset` others. A scope that does not bind (no scope for the caller) matches nothing.
storage::row_condition scope_condition(const collection_access& access, const principal& who,
                                       std::size_t offset) {
  auto scope = bind_write_scope(access, who);
  if (!scope) return {"FALSE", {}};
  protocol::sql_params params{offset, {}};
  auto sql = protocol::compile_sql(
      *scope, [](const protocol::column_schema& c) { return protocol::quote_identifier(c.name); },
      params);
  return {std::move(sql), std::move(params.values)};
}

storage::pg_statement statement_of(const row_write& w, const collection_access& access,
                                   const principal& who) {
  switch (w.what) {
    case row_write::kind::insert: {
      if (!w.check_scope) return storage::insert_row_statement(*w.schema, w.values, w.now_columns);
      const auto check = scope_condition(access, who, w.values.size());
      return storage::insert_row_statement(*w.schema, w.values, w.now_columns, &check);
    }
    case row_write::kind::update:
      return storage::update_row_statement(*w.schema, w.key, w.values, w.now_columns);
    case row_write::kind::remove: return storage::delete_row_statement(*w.schema, w.key);
  }
  return storage::delete_row_statement(*w.schema, w.key);
}

// How pipeline 1's rows came back.
enum class rows_read { ok, bad_shape, moved };

}  // namespace

struct mutation_service::committed_batch {
  batch_decision decision;
  std::optional<std::uint32_t> xid;  // the transaction's, as the change log records it
  std::optional<lsn> log_high;
};

// One try of a batch's transaction: the storage read, the decision, the write.
class mutation_service::attempt {
 public:
  // Committed, another try due, or refused.
  using result = std::variant<committed_batch, retry_attempt, mutation_refusal>;

  attempt(mutation_service& service, const principal& who, const protocol::mutation_batch& batch,
          const std::vector<planned_mutation>& plans, retry_memory& retry)
      : s_(service), who_(who), batch_(batch), plans_(plans), retry_(retry) {}

  asio::awaitable<result> async_run() {
    auto conn = co_await s_.source_->async_acquire();
    if (!conn) co_return unavailable(conn.error().to_string());
    if (s_.options_.storage_is_source && !s_.log_ready_) {
      auto r = co_await (*conn)->async_query("SELECT to_regclass('fieldsync.changes') IS NOT NULL");
      s_.log_ready_ = r && r->rows() == 1 && r->value(0, 0) == "t";
    }
    batch_transaction tx(std::move(*conn));
    auto read = co_await async_read(tx);
    if (auto* refusal = std::get_if<mutation_refusal>(&read)) co_return std::move(*refusal);
    if (std::holds_alternative<retry_attempt>(read)) co_return retry_attempt{};
    auto& r = std::get<batch_reads>(read);
    auto decision = decide_batch(plans_, r.stored, std::move(r.rows),
                                 decide_context{who_, batch_.client_id, r.last, s_.registry_, s_.options_.values});
    co_return co_await async_write(tx, std::move(decision), r);
  }

 private:
  read_pipeline reads_of(const std::map<std::string, collection_reads>& plan) const {
    read_pipeline p;
    auto& st = p.statements;
    st.push_back(storage::begin_statement());
    st.push_back(storage::lock_timeout_statement(s_.options_.lock_timeout));
    st.push_back(storage::create_client_statement(batch_.client_id, who_.subject,
                                                  s_.options_.max_clients_per_subject,
                                                  s_.options_.client_retention));
    p.client_at = st.size();
    st.push_back(storage::lock_client_statement(batch_.client_id));
    p.results_at = st.size();
    st.push_back(storage::stored_results_statement(batch_.client_id, batch_.mutations.front().mutation_id,
                                                   batch_.mutations.back().mutation_id));
    if (s_.log_ready_) {
      p.high_at = st.size();
      st.push_back(storage::log_high_statement());
    }
    for (const auto& [name, cr] : plan) {
      auto& slot = p.slots[name];
      // Check before locking: the rows are read without locks, and only those inside the
      // caller's write scope are locked (a row outside it is never waited for).
      slot.read_at = st.size();
      st.push_back(storage::read_rows_statement(cr.access->schema, cr.key_texts, s_.commit_times_));
      slot.rows_at = st.size();
      const auto scope = scope_condition(*cr.access, who_,
                                         storage::key_param_count(cr.access->schema, cr.key_texts));
      st.push_back(
          storage::lock_rows_statement(cr.access->schema, cr.key_texts, s_.commit_times_, &scope));
      slot.clocks_at = st.size();
      st.push_back(storage::clocks_statement(name, cr.keys));
      if (s_.log_ready_ && !cr.log_keys.empty()) {
        slot.log = true;
        slot.log_at = st.size();
        st.push_back(storage::log_rows_statement(name, cr.log_keys));
      }
    }
    return p;
  }

  // Pipeline 1: begin, lock the client, read stored results, lock and read the rows.
  asio::awaitable<std::variant<batch_reads, retry_attempt, mutation_refusal>> async_read(batch_transaction& tx) {
    const auto plan = plan_reads(plans_);
    const auto p = reads_of(plan);
    auto read = co_await tx.connection().async_pipeline(p.statements);
    if (!read) {
      co_await tx.async_rollback();
      if (read.error().stale_prepared) co_return retry_attempt{};  // prepares it again
      if (auto refusal = read_failure(read.error().error)) co_return std::move(*refusal);
      co_return retry_attempt{};
    }
    const auto& rs = *read;
    auto client = storage::read_client(rs[p.client_at]);
    if (auto refusal = client_refusal(client)) co_return co_await tx.async_refuse(std::move(*refusal));
    auto stored = storage::read_stored_results(rs[p.results_at]);
    if (!stored) {
      auto refusal = internal(stored.error().to_string());
      co_return co_await tx.async_refuse(std::move(refusal));
    }
    batch_reads out{client->last_mutation_id, std::move(*stored), {}, {}};
    const auto rows = co_await async_read_rows(p, rs, plan, out.rows);
    if (rows == rows_read::moved) {
      co_await tx.async_rollback();
      co_return retry_attempt{};
    }
    if (rows == rows_read::bad_shape) {
      auto refusal = internal("unexpected rows from the database");
      co_return co_await tx.async_refuse(std::move(refusal));
    }
    if (p.high_at && rs[*p.high_at].rows() == 1) out.log_high = lsn::parse(rs[*p.high_at].value(0, 0));
    co_return out;
  }

  // Whether the client's row lets this batch through: the caller's, and no ids skipped.
  std::optional<mutation_refusal> client_refusal(const storage::pg_outcome<storage::client_state>& client) const {
    if (!client) return internal(client.error().to_string());
    if (client->owner != who_.subject) {
      return mutation_refusal{refusal_kind::forbidden, "client_not_yours",
                              "client id " + batch_.client_id + " belongs to another user", {}};
    }
    const std::int64_t last = client->last_mutation_id;
    if (const auto first_id = batch_.mutations.front().mutation_id;
        first_id - 1 > last) {  // no overflow: ids are at most 2^53 - 1
      return mutation_refusal{refusal_kind::gap, "mutation_gap",
                              "the next mutation id of client " + batch_.client_id + " is " +
                                  std::to_string(last + 1) + ", this batch starts at " + std::to_string(first_id) +
                                  ": resend from it (renumber mutations that were never answered)",
                              json::object{{"expected_mutation_id", last + 1}}};
    }
    return std::nullopt;
  }

  // nullopt: try again.
  std::optional<mutation_refusal> read_failure(const storage::pg_error& e) {
    if (e.sqlstate == sqlstate::lock_not_available) return row_locked();
    if (e.sqlstate == sqlstate::undefined_table) {
      s_.log_ready_ = false;  // the change log was dropped meanwhile: read without it
      return std::nullopt;
    }
    if (retryable(e)) return std::nullopt;
    return unavailable(e.to_string());
  }

  // The rows, keyed by collection and canonical key, with their clocks and log versions. A
  // row outside the write scope is there as read without a lock, to be refused (the
  // decision refuses it before anything else). `moved`: a row inside the scope was not
  // locked (it left the scope or went away between the two reads): try again.
  asio::awaitable<rows_read> async_read_rows(const read_pipeline& p,
                                             const std::vector<storage::pg_result>& rs,
                                             const std::map<std::string, collection_reads>& plan,
                                             row_states& rows) {
    for (const auto& [name, cr] : plan) {
      for (const auto& k : cr.keys) rows[{name, k}];
      const auto& slot = p.slots.at(name);
      auto seen = storage::read_locked_rows(rs[slot.read_at], cr.access->schema, s_.commit_times_);
      auto locked = storage::read_locked_rows(rs[slot.rows_at], cr.access->schema, s_.commit_times_);
      auto clocks = storage::read_clocks(rs[slot.clocks_at]);
      if (!seen || !locked || !clocks) co_return rows_read::bad_shape;
      std::set<std::string> locked_keys;
      for (const auto& l : *locked) locked_keys.insert(l.key);
      const auto scope = bind_write_scope(*cr.access, who_);
      for (auto& l : *seen) {
        if (locked_keys.contains(l.key)) continue;
        if (scope && protocol::matches(*scope, l.row)) co_return rows_read::moved;
        auto& s = rows[{name, l.key}];
        s.row = std::move(l.row);
        s.xmin = l.xmin;
      }
      for (auto& l : *locked) {
        auto& s = rows[{name, l.key}];
        s.row = std::move(l.row);
        s.xmin = l.xmin;
        s.commit_ms = l.commit_ms;
      }
      for (auto& k : *clocks) rows[{name, k.key}].stored = std::move(k);
      auto logs = co_await async_log_rows(name, cr, slot, rs);
      for (auto& l : logs) rows[{name, l.key}].log = std::move(l);
    }
    co_return rows_read::ok;
  }

  // The log's versions of a collection's rows: from pipeline 1 when the log is in the source
  // database, else from the storage database. None (yet): versions are unknown, and the
  // merges go by base values.
  asio::awaitable<std::vector<storage::log_row>> async_log_rows(const std::string& name, const collection_reads& cr,
                                                                const read_pipeline::collection_slots& slot,
                                                                const std::vector<storage::pg_result>& rs) {
    if (slot.log) {
      auto l = storage::read_log_rows(rs[slot.log_at]);
      co_return l ? std::move(*l) : std::vector<storage::log_row>{};
    }
    if (!s_.options_.storage_is_source && !cr.log_keys.empty()) {
      auto st = storage::log_rows_statement(name, cr.log_keys);
      auto r = co_await s_.storage_->async_query(st.sql, st.params);
      if (r) {
        if (auto l = storage::read_log_rows(*r)) co_return std::move(*l);
      }
    }
    co_return std::vector<storage::log_row>{};
  }

  // Pipeline 2: the origins of the writes, the writes, the bookkeeping, the commit.
  write_pipeline writes_of(const batch_decision& d, std::int64_t last) const {
    write_pipeline w;
    w.statements.reserve(d.writes.size() + 9);
    if (!d.writes.empty()) {
      std::vector<protocol::origin_write> origins;
      origins.reserve(d.writes.size());
      for (const auto& rw : d.writes) {
        const auto& p = plans_[rw.mutation];
        origins.push_back(
            {p.m->mutation_id, p.access->schema.name, p.checked->key_text, p.m->client_ts});
      }
      w.add(storage::origin_statement(batch_.client_id, origins));
    }
    for (const auto& rw : d.writes)
      w.add(statement_of(rw, *plans_[rw.mutation].access, who_), rw.mutation);
    if (!d.clocks.empty()) w.add(storage::upsert_clocks_statement(d.clocks));
    if (!d.stored_results.empty()) {
      w.add(storage::insert_results_statement(batch_.client_id,
                                              d.stored_results.front().as_object().at("mutation_id").as_int64(),
                                              d.stored_results.back().as_object().at("mutation_id").as_int64(),
                                              d.stored_results));
    }
    if (!d.conflicts.empty()) w.add(storage::insert_conflicts_statement(batch_.client_id, who_.subject, d.conflicts));
    // Also a batch of duplicates only: it marks the client id as used (retention).
    w.add(storage::advance_client_statement(batch_.client_id, d.last_mutation_id));
    if (d.last_mutation_id > last) {
      if (d.last_mutation_id - s_.options_.result_retention > 0) {
        w.add(storage::prune_results_statement(batch_.client_id, d.last_mutation_id - s_.options_.result_retention));
      }
    }
    w.xid_at = w.statements.size();
    w.add(storage::current_xid_statement());
    w.add(storage::commit_statement());
    return w;
  }

  asio::awaitable<result> async_write(batch_transaction& tx, batch_decision decision, const batch_reads& read) {
    const auto w = writes_of(decision, read.last);
    committed_batch done;
    done.log_high = s_.versions_ ? s_.versions_->high() : std::nullopt;
    if (!done.log_high) done.log_high = read.log_high;
    auto written = co_await tx.connection().async_pipeline(w.statements);
    if (!written) {
      const auto& err = written.error();
      // An error past the last statement is the connection's: no transaction is left there.
      if (err.index < w.statements.size()) {
        co_await tx.async_rollback();
      } else {
        tx.ended();
      }
      if (auto refusal = write_failure(err, w)) co_return std::move(*refusal);
      co_return retry_attempt{};
    }
    tx.ended();
    if (s_.options_.after_commit) s_.options_.after_commit();
    if (auto x = storage::read_current_xid((*written)[w.xid_at])) done.xid = *x;
    done.decision = std::move(decision);
    co_return done;
  }

  // nullopt: try again (remembering in retry_ what the database refused).
  std::optional<mutation_refusal> write_failure(const storage::pg_pipeline_error& err, const write_pipeline& w) {
    const auto& e = err.error;
    if (err.stale_prepared || retryable(e)) return std::nullopt;
    if (e.sqlstate == sqlstate::lock_not_available) return row_locked();
    if (err.index < w.owner_of.size() && w.owner_of[err.index] && !e.sqlstate.empty() &&
        e.code == make_error_code(storage::pg_errc::query_failed)) {
      const auto m = *w.owner_of[err.index];
      if (e.sqlstate == sqlstate::unique_violation && plans_[m].m->op == protocol::mutation_op::insert &&
          !retry_.insert_races.contains(m)) {
        retry_.insert_races.insert(m);  // a concurrent insert of the key: the next attempt sees it
      } else {
        retry_.refused_writes.emplace(m, e);
      }
      return std::nullopt;
    }
    if (e.code != storage::pg_errc::query_failed) {
      // The connection broke after the commit may have been sent: the outcome is unknown
      // here, and the retry the client makes answers duplicate for what was applied.
      return unavailable(
          "the connection to the database broke; push the batch again (what it applied answers duplicate): " +
          e.to_string());
    }
    return unavailable("the batch was not applied: " + e.to_string());
  }

  mutation_service& s_;
  const principal& who_;
  const protocol::mutation_batch& batch_;
  const std::vector<planned_mutation>& plans_;
  retry_memory& retry_;
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
      prune_timer_(ex) {}

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
    if (auto c = self->options_.columns.find(access.schema.name);
        c != self->options_.columns.end()) {
      auto rules = make_column_rules(c->second, access.schema);
      if (!rules)
        throw std::runtime_error("collections." + access.schema.name + "." + rules.error());
      self->column_rules_.emplace(access.schema.name, std::move(*rules));
    }
  }
  auto conn = co_await self->source_->async_acquire();
  if (!conn) throw std::runtime_error("mutations: " + conn.error().to_string());
  auto migrated = co_await storage::async_migrate_mutation_schema(**conn);
  if (!migrated) throw std::runtime_error("mutations: " + migrated.error().to_string());
  auto tracked = co_await (*conn)->async_query("SELECT current_setting('track_commit_timestamp')");
  self->commit_times_ = tracked && tracked->rows() == 1 && tracked->value(0, 0) == "on";
  self->versions_ = self->options_.versions;
  spawn_logged(ex, self->prune_loop(), "mutation record pruning");
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
    prunes.push_back(storage::prune_clients_statement(options_.client_retention, 10'000));
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
  if (!r) co_return mutation_reply{unavailable(r.error().to_string()), {}};
  auto list = storage::read_conflicts(*r);
  if (!list) co_return mutation_reply{internal(list.error().to_string()), {}};
  json::value next = nullptr;
  if (static_cast<std::int64_t>(list->size()) == limit && !list->empty()) {
    next = list->back().as_object().at("id");
  }
  co_return mutation_reply::accepted(json::object{{"conflicts", std::move(*list)}, {"next_before", next}});
}

asio::awaitable<mutation_reply> mutation_service::async_apply(const principal& who,
                                                              const json::value& request) {
  auto self = shared_from_this();
  auto parsed = protocol::parse_mutation_batch(request, options_.batch);
  if (!parsed) co_return mutation_reply::refused(refusal_kind::bad_request, parsed.error().code, parsed.error().message);
  const auto& batch = *parsed;
  if (who.subject.empty()) {
    co_return mutation_reply::refused(
        refusal_kind::forbidden, "forbidden",
        "pushing mutations needs a token with a subject (sub): a client id belongs to one");
  }
  if (batch.mutations.empty()) {
    co_return mutation_reply::accepted(json::object{
        {"client_id", batch.client_id}, {"last_mutation_id", nullptr}, {"results", json::array()}});
  }
  auto plans = plan_mutations(batch, who,
                              plan_context{collections_, merges_, options_.values,
                                           options_.max_clock_drift, now_ms(), &column_rules_});
  retry_memory retry;
  const std::size_t max_attempts = plans.size() + 4;
  for (std::size_t n = 0; n < max_attempts; ++n) {
    retry.apply(plans);
    attempt a(*this, who, batch, plans, retry);
    auto result = co_await a.async_run();
    if (auto* refusal = std::get_if<mutation_refusal>(&result)) co_return mutation_reply{std::move(*refusal), {}};
    if (auto* done = std::get_if<committed_batch>(&result)) {
      co_return co_await async_answer(batch.client_id, std::move(*done));
    }
  }
  co_return mutation_reply{unavailable("the batch met conflicting transactions too often; retry"), {}};
}

asio::awaitable<mutation_reply> mutation_service::async_answer(const std::string& client_id,
                                                               committed_batch done) {
  auto& out = done.decision;
  // The version the writes made, once the log names it (bounded wait).
  std::optional<lsn> committed;
  const bool any_write = std::find(out.wrote.begin(), out.wrote.end(), true) != out.wrote.end();
  if (any_write && done.xid && done.log_high && options_.version_wait.count() > 0 && versions_) {
    committed = co_await versions_->async_wait(*done.xid, *done.log_high,
                                               std::chrono::steady_clock::now() + options_.version_wait);
  }
  for (std::size_t r = 0; r < out.results.size(); ++r) {
    if (out.wrote[r]) out.results[r].as_object()["version"] = version_json(committed);
  }
  co_await async_duplicate_versions(done);
  co_return mutation_reply::accepted(json::object{{"client_id", client_id},
                                                  {"last_mutation_id", out.last_mutation_id},
                                                  {"results", std::move(out.results)}});
}

// Duplicates answer with their original results, and those with the versions their writes
// made (from the log, which may have compacted them away: then null).
asio::awaitable<void> mutation_service::async_duplicate_versions(committed_batch& done) {
  auto& out = done.decision;
  if (out.duplicate_positions.empty()) co_return;
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
      original["version"] = version_json(it == found.end() ? std::nullopt : it->second);
    }
    out.results[out.duplicate_positions[d]].as_object()["original"] = std::move(original);
  }
}

}  // namespace fieldsync::server
