#include "storage/ingest.hpp"

#include "protocol/pgoutput_message.hpp"
#include "storage/change_log_writer.hpp"
#include "storage/copy_text.hpp"
#include "storage/initial_load.hpp"
#include "storage/log_schema.hpp"
#include "storage/log_state.hpp"
#include "storage/pg_connection.hpp"
#include "storage/publication.hpp"
#include "storage/replication_slot.hpp"
#include "storage/replication_stream.hpp"
#include "storage/source_catalog.hpp"
#include "storage/transaction_assembler.hpp"
#include "storage/xid_snapshot.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <random>

namespace fieldsync::storage {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::as_tuple;
using asio::use_awaitable;
using protocol::lsn;
using steady = std::chrono::steady_clock;

namespace {

// While a batch waits, the stream is polled; otherwise it is read with this deadline, so
// a stop request is noticed promptly.
constexpr auto idle_read = std::chrono::milliseconds(500);

pg_error ingest_error(std::string message) {
  return pg_error{make_error_code(pg_errc::unexpected_result), {}, std::move(message)};
}

// Stream transactions that a collection's table copy already holds.
struct load_filter {
  std::string collection;
  xid_snapshot snapshot;
  lsn until;
};

}  // namespace

struct ingest::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor e, ingest_options o)
      : ex(std::move(e)), opts(std::move(o)), sleep_timer(ex), done(ex, steady::time_point::max()),
        rng(std::random_device{}()) {}

  asio::any_io_executor ex;
  ingest_options opts;
  ingest_status status;
  bool stop_requested = false;
  bool finished = false;
  asio::steady_timer sleep_timer;
  asio::steady_timer done;  // cancelled when run() ends
  std::unique_ptr<pg_connection> lock_conn;
  std::mt19937_64 rng;
  std::deque<std::pair<steady::time_point, std::uint64_t>> rate_samples;

  asio::awaitable<void> run();
  asio::awaitable<pg_outcome<void>> lead();
  asio::awaitable<pg_outcome<log_state>> prepare_state(pg_connection& source, pg_connection& storage);
  asio::awaitable<pg_outcome<std::vector<load_filter>>> prepare_collections(
      pg_connection& source, pg_connection& storage, const log_state& state);
  asio::awaitable<pg_outcome<void>> heartbeat_loop();
  asio::awaitable<void> sleep(std::chrono::milliseconds d);
  std::chrono::milliseconds jittered(std::chrono::milliseconds d);
  void record_error(const std::string& what, const pg_error& e);
  void count(std::uint64_t transactions, std::uint64_t changes);
  std::string lock_name() const { return "fieldsync.ingest." + opts.slot; }
};

// One streaming session: from START_REPLICATION to the first failure or the stop.
class stream_session {
 public:
  stream_session(ingest::impl& ing, replication_stream& stream, pg_connection& storage,
                 const log_state& state, std::vector<load_filter> filters)
      : ing_(ing),
        stream_(stream),
        assembler_(ing.opts.collections, ing.opts.max_transaction_bytes),
        writer_(storage, state.epoch, state.resume, state.high),
        filters_(std::move(filters)),
        batch_resume_(state.resume) {}

  asio::awaitable<pg_outcome<void>> run() {
    auto r = co_await loop();
    if (!r) co_await writer_.async_rollback();
    co_return r;
  }

 private:
  asio::awaitable<pg_outcome<void>> loop() {
    for (;;) {
      if (ing_.stop_requested) {
        if (spilling_) co_await writer_.async_rollback();  // resent from the slot next time
        else if (auto f = co_await flush(); !f) co_return f.error();
        auto stopped = co_await stream_.async_stop();
        if (!stopped) co_return stopped.error();
        co_return pg_outcome<void>{};
      }
      bool waiting = !batch_.empty() || batch_resume_ > writer_.resume();
      auto deadline = waiting && !spilling_ ? steady::now() : steady::now() + idle_read;
      auto next = co_await stream_.async_next(deadline);
      if (!next) co_return next.error();
      if (!*next) {
        if (waiting && !spilling_) {
          if (auto f = co_await flush(); !f) co_return f.error();
        }
        continue;
      }
      const auto& payload = (*next)->payload;
      auto decoded = protocol::decode_pgoutput(
          {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
      if (!decoded) {
        co_return ingest_error("undecodable pgoutput message at " + (*next)->wal_start.to_string() +
                               ": " + decoded.error().message());
      }
      if (auto r = co_await handle(*decoded); !r) co_return r.error();
    }
  }

  asio::awaitable<pg_outcome<void>> handle(const protocol::pgoutput_message& m) {
    if (const auto* begin = std::get_if<protocol::begin_message>(&m)) {
      // PostgreSQL re-sends from the slot's confirmed position after every restart; what
      // the log already holds is dropped here (exactly once into the log).
      skipping_ = begin->final_lsn < batch_resume_;
      if (skipping_) co_return pg_outcome<void>{};
    } else if (skipping_) {
      // Relation messages inside a skipped transaction still describe later changes.
      if (std::holds_alternative<protocol::relation_message>(m)) (void)assembler_.feed(m);
      if (std::holds_alternative<protocol::commit_message>(m)) skipping_ = false;
      co_return pg_outcome<void>{};
    }
    auto ev = assembler_.feed(m);
    if (!ev) co_return ingest_error("pgoutput stream: " + ev.error().message());
    for (const auto& rel : assembler_.take_identity_warnings()) {
      spdlog::warn("ingest: table {} does not have REPLICA IDENTITY FULL: deletes and updates "
                   "lack the old row (fieldsync sets it at start; was it changed?)", rel);
    }
    if (const auto* begin = std::get_if<protocol::begin_message>(&m)) {
      std::vector<std::string> excluded;
      for (const auto& f : filters_) {
        if (f.snapshot.sees(begin->xid)) excluded.push_back(f.collection);
      }
      assembler_.exclude_collections(std::move(excluded));
    }
    switch (*ev) {
      case transaction_assembler::event::none:
        break;
      case transaction_assembler::event::committed: {
        auto txn = assembler_.take_transaction();
        if (spilling_) {
          if (auto a = co_await writer_.async_append(txn, txn.changes); !a) co_return a.error();
          batch_resume_ = txn.end_lsn;
          if (auto c = co_await commit(1, spilled_changes_ + txn.changes.size()); !c) co_return c.error();
          spilling_ = false;
          break;
        }
        batch_bytes_ += assembler_.last_transaction_bytes();
        batch_changes_ += txn.changes.size();
        batch_resume_ = txn.end_lsn;
        batch_.push_back(std::move(txn));
        if (batch_changes_ >= ing_.opts.batch_max_changes || batch_bytes_ >= ing_.opts.batch_max_bytes) {
          if (auto f = co_await flush(); !f) co_return f.error();
        }
        break;
      }
      case transaction_assembler::event::over_limit: {
        if (!spilling_) {
          if (auto f = co_await flush(); !f) co_return f.error();
          if (auto b = co_await writer_.async_begin(); !b) co_return b.error();
          spilling_ = true;
          spilled_changes_ = 0;
          spdlog::info("ingest: transaction {} exceeds {} bytes in memory; writing it in pieces",
                       assembler_.open_transaction().xid, ing_.opts.max_transaction_bytes);
        }
        auto changes = assembler_.take_changes();
        spilled_changes_ += changes.size();
        if (auto a = co_await writer_.async_append(assembler_.open_transaction(), changes); !a) {
          co_return a.error();
        }
        break;
      }
      case transaction_assembler::event::heartbeat:
        if (assembler_.heartbeat_lsn() > batch_resume_) batch_resume_ = assembler_.heartbeat_lsn();
        break;
    }
    co_return pg_outcome<void>{};
  }

  asio::awaitable<pg_outcome<void>> flush() {
    if (batch_.empty() && batch_resume_ <= writer_.resume()) co_return pg_outcome<void>{};
    if (auto b = co_await writer_.async_begin(); !b) co_return b.error();
    std::uint64_t changes = 0;
    for (auto& txn : batch_) {
      changes += txn.changes.size();
      if (auto a = co_await writer_.async_append(txn, txn.changes); !a) co_return a.error();
    }
    auto n = batch_.size();
    batch_.clear();
    batch_changes_ = 0;
    batch_bytes_ = 0;
    co_return co_await commit(n, changes);
  }

  asio::awaitable<pg_outcome<void>> commit(std::uint64_t transactions, std::uint64_t changes) {
    if (auto c = co_await writer_.async_commit(batch_resume_); !c) co_return c.error();
    // Only now, with the log committed, may the slot forget this WAL.
    stream_.confirm(writer_.resume());
    ing_.status.resume = writer_.resume();
    ing_.status.high = writer_.high();
    ing_.count(transactions, changes);
    std::erase_if(filters_, [&](const load_filter& f) { return f.until < writer_.resume(); });
    co_return pg_outcome<void>{};
  }

  ingest::impl& ing_;
  replication_stream& stream_;
  transaction_assembler assembler_;
  change_log_writer writer_;
  std::vector<load_filter> filters_;
  std::vector<protocol::transaction> batch_;
  std::size_t batch_changes_ = 0;
  std::size_t batch_bytes_ = 0;
  lsn batch_resume_;  // the resume position once the batch is stored
  bool skipping_ = false;
  bool spilling_ = false;
  std::uint64_t spilled_changes_ = 0;
};

void ingest::impl::record_error(const std::string& what, const pg_error& e) {
  status.last_error = what + ": " + e.to_string();
  status.last_error_at = std::chrono::system_clock::now();
  spdlog::warn("ingest: {}", status.last_error);
}

void ingest::impl::count(std::uint64_t transactions, std::uint64_t changes) {
  status.transactions += transactions;
  status.changes += changes;
  auto now = steady::now();
  rate_samples.emplace_back(now, status.changes);
  while (rate_samples.size() > 2 && now - rate_samples.front().first > std::chrono::seconds(10)) {
    rate_samples.pop_front();
  }
  auto span = std::chrono::duration<double>(now - rate_samples.front().first).count();
  status.changes_per_second =
      span > 0 ? static_cast<double>(status.changes - rate_samples.front().second) / span : 0;
}

std::chrono::milliseconds ingest::impl::jittered(std::chrono::milliseconds d) {
  // Full range between half and all of the backoff: nodes that failed together retry apart.
  std::uniform_int_distribution<std::int64_t> dist(d.count() / 2, std::max<std::int64_t>(d.count(), 1));
  return std::chrono::milliseconds(dist(rng));
}

asio::awaitable<void> ingest::impl::sleep(std::chrono::milliseconds d) {
  if (stop_requested) co_return;
  sleep_timer.expires_after(d);
  (void)co_await sleep_timer.async_wait(as_tuple(use_awaitable));
}

asio::awaitable<void> ingest::impl::run() {
  auto self = shared_from_this();
  auto backoff = opts.reconnect_min;
  while (!stop_requested) {
    if (!lock_conn || !lock_conn->is_ok()) {
      status.leader = false;
      lock_conn.reset();
      auto c = co_await pg_connection::async_connect(ex, opts.source_conninfo, opts.connect_timeout);
      if (!c) {
        status.phase = "retrying";
        record_error("connecting to the source database", c.error());
        co_await sleep(jittered(backoff));
        backoff = std::min(backoff * 2, opts.reconnect_max);
        continue;
      }
      lock_conn = std::move(*c);
    }
    if (!status.leader) {
      auto got = co_await lock_conn->async_query("SELECT pg_try_advisory_lock(hashtext($1))",
                                                 pg_params(lock_name()));
      if (!got) {
        record_error("leader lock", got.error());
        lock_conn.reset();
        co_await sleep(jittered(backoff));
        continue;
      }
      if (got->value(0, 0) != "t") {
        status.phase = "waiting";
        co_await sleep(opts.leader_retry);
        continue;
      }
      status.leader = true;
      status.leader_since = std::chrono::system_clock::now();
      spdlog::info("ingest: this node leads ingest from slot {}", opts.slot);
    }
    auto started = steady::now();
    auto result = co_await lead();
    if (stop_requested) break;
    if (!result) {
      ++status.restarts;
      record_error("streaming stopped", result.error());
    }
    // A session that ran for a while starts the backoff over.
    if (steady::now() - started > std::chrono::seconds(30)) backoff = opts.reconnect_min;
    status.phase = "retrying";
    co_await sleep(jittered(backoff));
    backoff = std::min(backoff * 2, opts.reconnect_max);
  }
  // Closing the session releases the advisory lock: another node takes over.
  lock_conn.reset();
  status.leader = false;
  status.phase = "stopped";
  finished = true;
  done.cancel();
}

asio::awaitable<pg_outcome<void>> ingest::impl::lead() {
  status.phase = "preparing";
  auto storage = co_await pg_connection::async_connect(ex, opts.storage_conninfo, opts.connect_timeout);
  if (!storage) co_return storage.error();
  auto source = co_await pg_connection::async_connect(ex, opts.source_conninfo, opts.connect_timeout);
  if (!source) co_return source.error();
  if (auto m = co_await async_migrate_log_schema(**storage); !m) co_return m.error();
  if (auto p = co_await async_sync_publication(**source, opts.publication, opts.collections); !p) {
    co_return p.error();
  }
  auto state = co_await prepare_state(**source, **storage);
  if (!state) co_return state.error();
  auto filters = co_await prepare_collections(**source, **storage, *state);
  if (!filters) co_return filters.error();
  source->reset();  // the stream has its own connection

  replication_options ro;
  ro.conninfo = opts.source_conninfo;
  ro.slot = opts.slot;
  ro.publications = {opts.publication};
  ro.status_interval = opts.status_interval;
  ro.connect_timeout = opts.connect_timeout;
  auto stream = co_await replication_stream::async_start(ex, ro, state->resume);
  if (!stream) co_return stream.error();

  status.phase = "streaming";
  status.epoch = state->epoch;
  status.resume = state->resume;
  status.high = state->high;
  stream_session session(*this, **stream, **storage, *state, std::move(*filters));
  auto outcome = co_await (session.run() || heartbeat_loop());
  if (outcome.index() == 0) co_return std::get<0>(std::move(outcome));
  co_return std::get<1>(std::move(outcome));
}

asio::awaitable<pg_outcome<void>> ingest::impl::heartbeat_loop() {
  asio::steady_timer timer(ex);
  for (;;) {
    timer.expires_after(opts.heartbeat_interval);
    auto [ec] = co_await timer.async_wait(as_tuple(use_awaitable));
    if (ec) co_return pg_outcome<void>{};
    // Goes through the lock's session: a failure here also means leadership is gone.
    auto r = co_await lock_conn->async_query(
        "SELECT pg_logical_emit_message(false, 'fieldsync.heartbeat', '')");
    if (!r) {
      status.leader = false;
      co_return pg_error{r.error().code, r.error().sqlstate,
                         "leader session lost (" + r.error().message + ")"};
    }
  }
}

asio::awaitable<pg_outcome<log_state>> ingest::impl::prepare_state(pg_connection& source,
                                                                  pg_connection& storage) {
  auto stored = co_await async_read_log_state(storage);
  if (!stored) co_return stored.error();
  auto slot = co_await async_slot_state(source, opts.slot);
  if (!slot) co_return slot.error();
  auto db = co_await source.async_query("SELECT current_database()");
  if (!db) co_return db.error();
  if (*slot && (*slot)->plugin != "pgoutput") {
    co_return ingest_error("replication slot " + opts.slot + " uses plugin " + (*slot)->plugin +
                           "; fieldsync needs a pgoutput slot of its own");
  }
  if (*slot && (*slot)->database != db->value(0, 0)) {
    co_return ingest_error("replication slot " + opts.slot + " belongs to database " +
                           (*slot)->database + ", not to the source database");
  }

  std::string lost;
  if (!*stored) {
    if (*slot) lost = "a slot named " + opts.slot + " exists but this change log is new";
  } else if ((*stored)->slot != opts.slot) {
    lost = "the configured slot changed from " + (*stored)->slot + " to " + opts.slot;
  } else if (!*slot) {
    lost = "replication slot " + opts.slot + " does not exist any more";
  } else if ((*slot)->lost) {
    lost = "replication slot " + opts.slot +
           " was invalidated: PostgreSQL removed WAL it still needed (max_slot_wal_keep_size)";
  } else if ((*slot)->confirmed_flush > (*stored)->resume) {
    lost = "the change log ends at " + (*stored)->resume.to_string() + " but the slot was confirmed up to " +
           (*slot)->confirmed_flush.to_string() + " (was the storage database restored from a backup?)";
  }
  if (*stored && lost.empty()) co_return **stored;

  if (*stored) {
    spdlog::error("ingest: HISTORY LOST: {}. Starting a new epoch: every client gets \"reset\" "
                  "and re-snapshots; the collections are copied again.", lost);
  } else if (!lost.empty()) {
    spdlog::warn("ingest: {}; replacing it", lost);
  } else {
    spdlog::info("ingest: first start: creating replication slot {}", opts.slot);
  }
  if (*slot) {
    if (auto d = co_await async_drop_slot(source, opts.slot); !d) co_return d.error();
  }
  auto point = co_await async_create_slot(source, opts.slot);
  if (!point) co_return point.error();
  auto fresh = co_await async_start_epoch(storage, opts.slot, *point);
  if (!fresh) co_return fresh.error();
  ++status.epochs_started;
  spdlog::info("ingest: epoch {} starts at {}", fresh->epoch, point->to_string());
  co_return *fresh;
}

asio::awaitable<pg_outcome<std::vector<load_filter>>> ingest::impl::prepare_collections(
    pg_connection& source, pg_connection& storage, const log_state& state) {
  std::vector<const protocol::collection_schema*> todo;
  std::vector<std::string> names;
  for (const auto& c : opts.collections) {
    std::vector<std::string_view> columns;
    for (const auto& col : c.columns) columns.push_back(col.name);
    std::vector<std::string_view> key(c.primary_key.begin(), c.primary_key.end());
    auto same = co_await storage.async_query(
        "SELECT 1 FROM fieldsync.collections WHERE name = $1 AND relation = $2 AND "
        "columns = $3::text[] AND primary_key = $4::text[] AND epoch = $5::bigint",
        pg_params(c.name, quoted_relation(c), text_array_literal(columns), text_array_literal(key),
                  state.epoch));
    if (!same) co_return same.error();
    if (same->rows() == 0) todo.push_back(&c);
    names.push_back(c.name);
  }
  // Collections no longer configured: their rows go; their changes age out with the log.
  std::vector<std::string_view> name_views(names.begin(), names.end());
  auto removed = co_await storage.async_query(
      "WITH gone AS (DELETE FROM fieldsync.collections WHERE NOT (name = ANY($1::text[])) "
      "RETURNING name) DELETE FROM fieldsync.rows WHERE collection IN (SELECT name FROM gone)",
      pg_params(text_array_literal(name_views)));
  if (!removed) co_return removed.error();

  if (!todo.empty()) {
    status.phase = "loading";
    auto started = steady::now();
    auto report = co_await async_load_collections(source, storage, todo, state.epoch);
    if (!report) co_return report.error();
    std::string list;
    for (const auto* c : todo) list += (list.empty() ? "" : ", ") + c->name;
    spdlog::info("ingest: copied {} rows of {} into the log at {} in {:.1f} s", report->rows, list,
                 report->version.to_string(),
                 std::chrono::duration<double>(steady::now() - started).count());
    status.phase = "preparing";
  }

  auto pending = co_await storage.async_query(
      "SELECT name, snapshot, snapshot_until::text FROM fieldsync.collections "
      "WHERE snapshot IS NOT NULL");
  if (!pending) co_return pending.error();
  std::vector<load_filter> filters;
  for (int i = 0; i < pending->rows(); ++i) {
    auto snap = xid_snapshot::parse(pending->value(i, 1));
    auto until = lsn::parse(pending->value(i, 2));
    if (!snap || !until) co_return ingest_error("unreadable load snapshot of " + std::string(pending->value(i, 0)));
    filters.push_back({std::string(pending->value(i, 0)), *snap, *until});
  }
  co_return filters;
}

std::shared_ptr<ingest> ingest::create(asio::any_io_executor ex, ingest_options opts) {
  return std::shared_ptr<ingest>(new ingest(std::make_shared<impl>(std::move(ex), std::move(opts))));
}

ingest::ingest(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

ingest::~ingest() { request_stop(); }

void ingest::start() {
  asio::co_spawn(impl_->ex, impl_->run(), asio::detached);
}

void ingest::request_stop() {
  impl_->stop_requested = true;
  impl_->sleep_timer.cancel();
}

asio::awaitable<void> ingest::async_stop() {
  auto d = impl_;
  request_stop();
  while (!d->finished) {
    (void)co_await d->done.async_wait(as_tuple(use_awaitable));
  }
}

bool ingest::stopped() const noexcept { return impl_->finished; }
const ingest_status& ingest::status() const noexcept { return impl_->status; }
const ingest_options& ingest::options() const noexcept { return impl_->opts; }

}  // namespace fieldsync::storage
