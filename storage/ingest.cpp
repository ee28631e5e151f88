#include "storage/ingest.hpp"

#include "protocol/pgoutput_message.hpp"
#include "storage/change_log_writer.hpp"
#include "storage/copy_text.hpp"
#include "storage/epoch_decision.hpp"
#include "storage/ingest_queue.hpp"
#include "storage/initial_load.hpp"
#include "storage/log_schema.hpp"
#include "storage/log_state.hpp"
#include "storage/pg_connection.hpp"
#include "storage/publication.hpp"
#include "storage/replication_slot.hpp"
#include "storage/replication_stream.hpp"
#include "storage/source_catalog.hpp"
#include "protocol/transaction_assembler.hpp"
#include "storage/xid_snapshot.hpp"
#include "storage/spawn_logged.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <random>

namespace fieldsync::storage {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::as_tuple;
using asio::use_awaitable;
using protocol::lsn;
using protocol::assembler_errc;
using protocol::transaction_assembler;
using steady = std::chrono::steady_clock;

namespace {

// While a batch waits, the stream is polled; otherwise it is read with this deadline, so
// a stop request is noticed promptly.
constexpr auto idle_read = std::chrono::milliseconds(500);

pg_error ingest_error(std::string message) {
  return pg_error{make_error_code(pg_errc::unexpected_result), {}, std::move(message)};
}

// The database went away (restarting, the session terminated, unreachable), as opposed to
// a failure of the data or of the log.
bool lost_connection(const pg_error& e) {
  return e.code == pg_errc::connection_lost || e.code == pg_errc::connection_failed ||
         e.code == pg_errc::connect_timeout || e.code == pg_errc::operation_timeout ||
         e.sqlstate.starts_with("57P") || e.sqlstate.starts_with("08");
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
  // Written only on the ingest's executor, which reads it freely; other threads read it
  // through ingest::status(), a copy made under the lock, so every write holds it.
  ingest_status status;
  mutable std::mutex status_mutex;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> finished{false};
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
  void fail_collection(const std::string& name, const std::string& message);
  // The configured collections, but the failed ones.
  std::vector<protocol::collection_schema> active_collections() const;
  void count(std::uint64_t transactions, std::uint64_t changes);
  template <class F>
  void update(F&& f) {
    std::lock_guard lock(status_mutex);
    f(status);
  }
  void set_phase(const char* phase) {
    update([&](ingest_status& s) { s.phase = phase; });
  }
  void set_leader(bool leads) {
    update([&](ingest_status& s) {
      s.leader = leads;
      if (leads) s.leader_since = std::chrono::system_clock::now();
    });
  }
  std::string lock_name() const { return "fieldsync.ingest." + opts.slot; }
};

// One streaming session: from START_REPLICATION to the first failure or the stop.
//
// Two coroutines with a bounded queue between them (storage/ingest_queue.hpp): the reader
// takes the stream, decodes and assembles transactions and hands them over in batches;
// the writer stores them in the change log and confirms what it committed to the slot.
// While the storage database writes one batch, the walsender decodes and fieldsync
// converts the next. A batch is handed over when it is full or when the stream has
// nothing more ready; the writer merges what queued up meanwhile into one storage
// transaction, so a busy writer gets bigger batches (group commit).
class stream_session {
 public:
  stream_session(ingest::impl& ing, replication_stream& stream, pg_connection& storage,
                 const log_state& state, std::vector<load_filter> filters)
      : ing_(ing),
        stream_(stream),
        assembler_(ing.active_collections(), ing.opts.max_transaction_bytes),
        writer_(storage, state.epoch, state.resume, state.high),
        filters_(std::move(filters)),
        queue_(ing.ex, 2 * ing.opts.batch_max_bytes),
        writer_done_(ing.ex, steady::time_point::max()),
        read_resume_(state.resume),
        handed_resume_(state.resume) {}

  asio::awaitable<pg_outcome<void>> run() {
    co_await (read_loop() && write_loop());
    if (write_error_ || read_error_) {
      co_await writer_.async_rollback();
      co_return write_error_ ? *write_error_ : *read_error_;
    }
    co_return pg_outcome<void>{};
  }

 private:
  // ---- the reader ----

  asio::awaitable<void> read_loop() {
    for (;;) {
      if (write_error_) co_return;
      if (ing_.stop_requested) {
        co_await stop_reading();
        co_return;
      }
      bool pending = !pending_.empty() || read_resume_ > handed_resume_;
      auto deadline = pending && !spilling_ ? steady::now() : steady::now() + idle_read;
      auto next = co_await stream_.async_next(deadline);
      if (!next) co_return read_failed(next.error());
      if (!*next) {
        if (pending && !spilling_ && !co_await hand_over()) co_return;
        continue;
      }
      const auto& payload = (*next)->payload;
      auto decoded = protocol::decode_pgoutput(
          {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
      if (!decoded) {
        co_return read_failed(ingest_error("undecodable pgoutput message at " +
                                           (*next)->wal_start.to_string() + ": " +
                                           decoded.error().message()));
      }
      auto handled = co_await handle(*decoded);
      if (!handled) co_return read_failed(handled.error());
      if (!*handled) co_return;  // the writer failed
    }
  }

  // Hands over what is pending, lets the writer finish, then ends the stream (CopyDone).
  asio::awaitable<void> stop_reading() {
    if (spilling_) {
      // The big transaction is re-sent from the slot next time.
      ingest_work abort;
      abort.what = ingest_work::kind::spill_abort;
      (void)co_await queue_.async_push(std::move(abort));
    } else if (!pending_.empty() || read_resume_ > handed_resume_) {
      (void)co_await hand_over();
    }
    queue_.close(false);
    while (!writer_finished_) {
      (void)co_await writer_done_.async_wait(as_tuple(use_awaitable));
    }
    if (write_error_) co_return;
    auto stopped = co_await stream_.async_stop();
    if (!stopped) read_error_ = stopped.error();
  }

  void read_failed(pg_error e) {
    if (!read_error_) read_error_ = std::move(e);
    queue_.close(true);
  }

  // False when the writer failed (the queue is closed).
  asio::awaitable<bool> hand_over() {
    ingest_work w;
    w.transactions = std::move(pending_);
    w.resume = read_resume_;
    w.bytes = pending_bytes_;
    w.changes = pending_changes_;
    pending_ = {};
    pending_bytes_ = 0;
    pending_changes_ = 0;
    handed_resume_ = read_resume_;
    co_return co_await queue_.async_push(std::move(w));
  }

  // The transaction the assembler holds open, with these changes.
  protocol::transaction open_piece(std::vector<protocol::row_change> changes) const {
    const auto& open = assembler_.open_transaction();
    protocol::transaction t;
    t.commit_lsn = open.commit_lsn;
    t.commit_time = open.commit_time;
    t.xid = open.xid;
    t.changes = std::move(changes);
    return t;
  }

  // An error of the stream's content, or false when the writer failed.
  asio::awaitable<pg_outcome<bool>> handle(const protocol::pgoutput_message& m) {
    if (const auto* begin = std::get_if<protocol::begin_message>(&m)) {
      // PostgreSQL re-sends from the slot's confirmed position after every restart; what
      // the log already holds is dropped here (exactly once into the log).
      skipping_ = begin->final_lsn < read_resume_;
      if (skipping_) co_return true;
    } else if (skipping_) {
      // Relation messages inside a skipped transaction still describe later changes.
      if (std::holds_alternative<protocol::relation_message>(m)) (void)assembler_.feed(m);
      if (std::holds_alternative<protocol::commit_message>(m)) skipping_ = false;
      co_return true;
    }
    auto ev = assembler_.feed(m);
    if (!ev) {
      if (ev.error() == assembler_errc::bad_value && assembler_.last_failure()) {
        // One collection's value: that collection stops, the stream restarts without it
        // (the slot re-sends this transaction) and the others go on.
        const auto& f = *assembler_.last_failure();
        ing_.fail_collection(f.collection, "a change could not be read: " + f.message);
      }
      co_return ingest_error("pgoutput stream: " + ev.error().message());
    }
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
        read_resume_ = txn.end_lsn;
        if (ing_.opts.on_decoded && (spilling_ || !txn.changes.empty())) {
          ing_.opts.on_decoded(txn.xid, txn.commit_lsn);
        }
        if (spilling_) {
          spilling_ = false;
          ingest_work w;
          w.what = ingest_work::kind::spill_commit;
          w.resume = read_resume_;
          w.bytes = assembler_.last_transaction_bytes();
          w.changes = txn.changes.size();
          w.transactions.push_back(std::move(txn));
          handed_resume_ = read_resume_;
          co_return co_await queue_.async_push(std::move(w));
        }
        pending_bytes_ += assembler_.last_transaction_bytes();
        pending_changes_ += txn.changes.size();
        pending_.push_back(std::move(txn));
        if (pending_changes_ >= ing_.opts.batch_max_changes ||
            pending_bytes_ >= ing_.opts.batch_max_bytes) {
          co_return co_await hand_over();
        }
        break;
      }
      case transaction_assembler::event::over_limit: {
        if (!spilling_) {
          if ((!pending_.empty() || read_resume_ > handed_resume_) && !co_await hand_over()) {
            co_return false;
          }
          spilling_ = true;
          spdlog::info("ingest: transaction {} exceeds {} bytes in memory; writing it in pieces",
                       assembler_.open_transaction().xid, ing_.opts.max_transaction_bytes);
        }
        ingest_work w;
        w.what = ingest_work::kind::spill_piece;
        w.bytes = ing_.opts.max_transaction_bytes;
        w.transactions.push_back(open_piece(assembler_.take_changes()));
        w.changes = w.transactions.back().changes.size();
        co_return co_await queue_.async_push(std::move(w));
      }
      case transaction_assembler::event::heartbeat:
        if (assembler_.heartbeat_lsn() > read_resume_) read_resume_ = assembler_.heartbeat_lsn();
        break;
    }
    co_return true;
  }

  // ---- the writer ----

  asio::awaitable<void> write_loop() {
    for (;;) {
      auto waited = steady::now();
      auto item = co_await queue_.async_pop();
      if (!item) break;
      idle_ += steady::now() - waited;
      auto written = co_await write(std::move(*item));
      if (!written) {
        write_error_ = written.error();
        queue_.close(true);
        break;
      }
    }
    writer_finished_ = true;
    writer_done_.cancel();
  }

  asio::awaitable<pg_outcome<void>> write(ingest_work item) {
    switch (item.what) {
      case ingest_work::kind::batch: {
        // What queued up while the previous batch was written goes into the same one.
        auto changes = item.changes;
        auto bytes = item.bytes;
        while (changes < ing_.opts.batch_max_changes && bytes < ing_.opts.batch_max_bytes) {
          auto more = queue_.try_pop_batch(ing_.opts.batch_max_changes - changes,
                                           ing_.opts.batch_max_bytes - bytes);
          if (!more) break;
          changes += more->changes;
          bytes += more->bytes;
          item.resume = more->resume;
          for (auto& t : more->transactions) item.transactions.push_back(std::move(t));
        }
        auto t0 = steady::now();
        if (auto b = co_await writer_.async_begin(); !b) co_return b.error();
        for (auto& txn : item.transactions) {
          if (auto a = co_await writer_.async_append(txn, txn.changes); !a) co_return a.error();
        }
        auto t1 = steady::now();
        auto c = co_await commit(item.resume, item.transactions.size(), changes);
        auto t2 = steady::now();
        using ms = std::chrono::duration<double, std::milli>;
        spdlog::debug(
            "ingest: batch of {} changes in {} transactions: append {:.1f} ms, rows "
            "{:.1f} ms, commit {:.1f} ms; writer idle {:.1f} ms before it",
            changes, item.transactions.size(), ms(t1 - t0).count(),
            ms(writer_.last_upsert_time()).count(),
            ms(t2 - t1 - writer_.last_upsert_time()).count(), ms(idle_).count());
        idle_ = {};
        co_return c;
      }
      case ingest_work::kind::spill_piece:
      case ingest_work::kind::spill_commit: {
        if (!writer_spilling_) {
          if (auto b = co_await writer_.async_begin(); !b) co_return b.error();
          writer_spilling_ = true;
          spilled_changes_ = 0;
        }
        auto& txn = item.transactions.front();
        spilled_changes_ += txn.changes.size();
        if (auto a = co_await writer_.async_append(txn, txn.changes); !a) co_return a.error();
        if (item.what == ingest_work::kind::spill_piece) co_return pg_outcome<void>{};
        writer_spilling_ = false;
        co_return co_await commit(item.resume, 1, spilled_changes_);
      }
      case ingest_work::kind::spill_abort:
        writer_spilling_ = false;
        co_await writer_.async_rollback();
        co_return pg_outcome<void>{};
    }
    co_return pg_outcome<void>{};
  }

  asio::awaitable<pg_outcome<void>> commit(lsn resume, std::uint64_t transactions,
                                           std::uint64_t changes) {
    // While a whole batch waits behind this one (a backlog: a bulk load, the catch-up after
    // a restart), this one does not wait for the disk; the WAL writer flushes several at
    // once, and the first batch with less behind it waits and makes all of them durable.
    // A steady trickle commits durably, batch by batch: each of those commits also flushes
    // the source's asynchronously committed transactions, which the walsender sends only
    // once flushed (without it they would wait for the WAL writer, wal_writer_delay).
    const bool backlog = queue_.changes() >= ing_.opts.batch_max_changes ||
                         queue_.bytes() >= ing_.opts.batch_max_bytes;
    const auto mode = backlog ? change_log_writer::commit_mode::deferred
                              : change_log_writer::commit_mode::durable;
    if (auto c = co_await writer_.async_commit(resume, mode); !c) co_return c.error();
    // Only what is on disk may the slot forget.
    stream_.confirm(writer_.durable_resume());
    ing_.update([&](ingest_status& s) {
      s.resume = writer_.durable_resume();
      s.high = writer_.high();
    });
    ing_.count(transactions, changes);
    std::erase_if(filters_, [&](const load_filter& f) { return f.until < writer_.resume(); });
    co_return pg_outcome<void>{};
  }

  ingest::impl& ing_;
  replication_stream& stream_;
  transaction_assembler assembler_;
  change_log_writer writer_;
  std::vector<load_filter> filters_;
  ingest_queue queue_;
  asio::steady_timer writer_done_;  // cancelled when write_loop ends
  std::optional<pg_error> read_error_;
  std::optional<pg_error> write_error_;
  bool writer_finished_ = false;

  // The reader's state.
  std::vector<protocol::transaction> pending_;
  std::size_t pending_changes_ = 0;
  std::size_t pending_bytes_ = 0;
  lsn read_resume_;    // the resume position once everything read so far is stored
  lsn handed_resume_;  // the same for what was handed to the writer
  bool skipping_ = false;
  bool spilling_ = false;

  // The writer's state.
  bool writer_spilling_ = false;
  std::uint64_t spilled_changes_ = 0;
  steady::duration idle_{};  // waiting for the reader since the last batch
};

void ingest::impl::fail_collection(const std::string& name, const std::string& message) {
  bool added = false;
  update([&](ingest_status& s) { added = s.failed_collections.emplace(name, message).second; });
  if (!added) return;
  // The table too: the operator fixes the table, and the message may name only its column.
  std::string relation = "?";
  for (const auto& c : opts.collections) {
    if (c.name == name) relation = quoted_relation(c);
  }
  spdlog::error(
      "ingest: collection {} FAILED (table {}) and is not synced until fieldsync restarts: {}",
      name, relation, message);
  if (opts.on_collection_failed) opts.on_collection_failed(name, message);
}

std::vector<protocol::collection_schema> ingest::impl::active_collections() const {
  std::vector<protocol::collection_schema> out;
  for (const auto& c : opts.collections) {
    if (!status.failed_collections.contains(c.name)) out.push_back(c);
  }
  return out;
}

void ingest::impl::record_error(const std::string& what, const pg_error& e) {
  update([&](ingest_status& s) {
    s.last_error = what + ": " + e.to_string();
    s.last_error_at = std::chrono::system_clock::now();
  });
  spdlog::warn("ingest: {}", status.last_error);
}

void ingest::impl::count(std::uint64_t transactions, std::uint64_t changes) {
  std::lock_guard lock(status_mutex);
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
    // Idle here: a session the server ended (a restart) is noticed without a round trip.
    if (!lock_conn || !lock_conn->check_idle()) {
      set_leader(false);
      lock_conn.reset();
      auto c = co_await pg_connection::async_connect(ex, opts.source_conninfo, opts.connect_timeout,
                                                     {}, opts.session);
      if (!c) {
        set_phase("retrying");
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
        set_phase("waiting");
        co_await sleep(opts.leader_retry);
        continue;
      }
      set_leader(true);
      spdlog::info("ingest: this node leads ingest from slot {}", opts.slot);
    }
    auto started = steady::now();
    auto result = co_await lead();
    if (stop_requested) break;
    if (!result) {
      update([](ingest_status& s) { ++s.restarts; });
      record_error("streaming stopped", result.error());
    }
    // A session that ran for a while starts the backoff over, and so does one that
    // streamed until it lost its connection: PostgreSQL restarting now and then must not
    // leave the change feed waiting reconnect_max. Other failures (a message that cannot
    // be stored, say) keep backing off.
    const bool streamed_until_lost =
        status.phase == "streaming" && (!result || lost_connection(result.error()));
    if (streamed_until_lost || steady::now() - started > std::chrono::seconds(30)) {
      backoff = opts.reconnect_min;
    }
    set_phase("retrying");
    co_await sleep(jittered(backoff));
    backoff = std::min(backoff * 2, opts.reconnect_max);
  }
  // Closing the session releases the advisory lock: another node takes over.
  lock_conn.reset();
  update([](ingest_status& s) {
    s.leader = false;
    s.phase = "stopped";
  });
  finished = true;
  done.cancel();
}

asio::awaitable<pg_outcome<void>> ingest::impl::lead() {
  set_phase("preparing");
  // The set-up may run long for good (migrations, initial copies): no operation timeout
  // until streaming starts; the server-side limits apply throughout.
  auto setup_limits = opts.session;
  setup_limits.operation_timeout = std::chrono::milliseconds(0);
  auto storage = co_await pg_connection::async_connect(ex, opts.storage_conninfo,
                                                       opts.connect_timeout, {}, setup_limits);
  if (!storage) co_return storage.error();
  auto source = co_await pg_connection::async_connect(ex, opts.source_conninfo,
                                                      opts.connect_timeout, {}, setup_limits);
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
  // The stored position may be a deferred commit of the previous session that is not on
  // disk yet; the stream reports it to the slot as flushed from the start. A synchronous
  // commit flushes all WAL before its own.
  if (auto f =
          co_await (*storage)->async_exec("BEGIN; SET LOCAL synchronous_commit = on; "
                                          "UPDATE fieldsync.state SET updated_at = now(); COMMIT");
      !f) {
    co_return f.error();
  }
  (*storage)->set_operation_timeout(opts.session.operation_timeout);

  replication_options ro;
  ro.conninfo = opts.source_conninfo;
  ro.slot = opts.slot;
  ro.publications = {opts.publication};
  ro.status_interval = opts.status_interval;
  ro.connect_timeout = opts.connect_timeout;
  ro.session = opts.session;
  auto stream = co_await replication_stream::async_start(ex, ro, state->resume);
  if (!stream) co_return stream.error();

  update([&](ingest_status& s) {
    s.phase = "streaming";
    s.epoch = state->epoch;
    s.resume = state->resume;
    s.high = state->high;
  });
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
      set_leader(false);
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

  // The timeline, through a walsender session of its own: a source promoted since the log
  // was last written (a failover) has lost history even when a slot came along with it.
  std::optional<lsn> timeline_start;
  if (*stored) {
    std::vector<std::pair<std::string, std::string>> extra{{"replication", "database"}};
    auto walsender = co_await pg_connection::async_connect(
        ex, opts.source_conninfo, opts.connect_timeout, std::move(extra), opts.session);
    if (!walsender) co_return walsender.error();
    auto start = co_await async_timeline_start(**walsender);
    if (!start) co_return start.error();
    timeline_start = *start;
  }
  const auto decision = decide_epoch(*stored, *slot, opts.slot, timeline_start);
  switch (decision.action) {
    case epoch_action::keep:
      co_return **stored;
    case epoch_action::first_start:
      spdlog::info("ingest: first start: creating replication slot {}", opts.slot);
      break;
    case epoch_action::replace_slot:
      spdlog::warn("ingest: {}; replacing it", decision.reason);
      break;
    case epoch_action::new_epoch:
      spdlog::error(
          "ingest: HISTORY LOST: {}. Starting a new epoch: every client gets \"reset\" "
          "and re-snapshots; the collections are copied again.",
          decision.reason);
      // Recorded before the slot is touched: if anything fails from here on, the next
      // attempt finishes this reset rather than taking the new slot for a restored backup.
      if (auto m = co_await async_mark_epoch_reset(storage); !m) co_return m.error();
      break;
    case epoch_action::finish_reset:
      spdlog::warn("ingest: {}", decision.reason);
      break;
  }
  // The slot goes even when it is the one an unfinished reset made: nothing has read from
  // it, and a slot made now is consistent with what the copies will read.
  if (*slot) {
    if (auto d = co_await async_drop_slot(source, opts.slot); !d) co_return d.error();
  }
  auto point = co_await async_create_slot(source, opts.slot);
  if (!point) co_return point.error();
  auto fresh = co_await async_start_epoch(storage, opts.slot, *point, opts.epoch_reset);
  if (!fresh) co_return fresh.error();
  update([&](ingest_status& s) {
    ++s.epochs_started;
    s.epoch_reason = decision.reason;
  });
  spdlog::info("ingest: epoch {} starts at {}", fresh->epoch, point->to_string());
  co_return *fresh;
}

asio::awaitable<pg_outcome<std::vector<load_filter>>> ingest::impl::prepare_collections(
    pg_connection& source, pg_connection& storage, const log_state& state) {
  std::vector<const protocol::collection_schema*> todo;
  std::vector<std::string> names;
  for (const auto& c : opts.collections) {
    names.push_back(c.name);
    if (auto failed = status.failed_collections.find(c.name);
        failed != status.failed_collections.end()) {
      // Readers on every node refuse it with the reason; its stale rows go.
      auto marked = co_await storage.async_query(
          "WITH f AS (UPDATE fieldsync.collections SET failure = $2, snapshot = NULL, "
          "snapshot_until = NULL WHERE name = $1 RETURNING name) "
          "DELETE FROM fieldsync.rows WHERE collection IN (SELECT name FROM f)",
          pg_params(c.name, failed->second));
      if (!marked) co_return marked.error();
      continue;
    }
    std::vector<std::string_view> columns;
    for (const auto& col : c.columns) columns.push_back(col.name);
    std::vector<std::string_view> key(c.primary_key.begin(), c.primary_key.end());
    // Copied again unless its copy is of this table, these columns and key, this epoch and
    // the current value format, and did not fail (a failure of an earlier run is retried).
    auto same = co_await storage.async_query(
        "SELECT 1 FROM fieldsync.collections WHERE name = $1 AND relation = $2 AND "
        "columns = $3::text[] AND primary_key = $4::text[] AND epoch = $5::bigint "
        "AND format = $6::integer AND failure IS NULL",
        pg_params(c.name, quoted_relation(c), text_array_literal(columns), text_array_literal(key),
                  state.epoch, log_value_format));
    if (!same) co_return same.error();
    if (same->rows() == 0) todo.push_back(&c);
  }
  // Collections no longer configured: their rows go; their changes age out with the log.
  std::vector<std::string_view> name_views(names.begin(), names.end());
  auto removed = co_await storage.async_query(
      "WITH gone AS (DELETE FROM fieldsync.collections WHERE NOT (name = ANY($1::text[])) "
      "RETURNING name) DELETE FROM fieldsync.rows WHERE collection IN (SELECT name FROM gone)",
      pg_params(text_array_literal(name_views)));
  if (!removed) co_return removed.error();

  if (!todo.empty()) {
    set_phase("loading");
    auto started = steady::now();
    auto report = co_await async_load_collections(source, storage, todo, state.epoch);
    if (!report) co_return report.error();
    for (const auto& f : report->failures) fail_collection(f.collection, f.message);
    std::string list;
    for (const auto* c : todo) {
      if (!status.failed_collections.contains(c->name)) list += (list.empty() ? "" : ", ") + c->name;
    }
    spdlog::info("ingest: copied {} rows of {} into the log at {} in {:.1f} s", report->rows, list,
                 report->version.to_string(),
                 std::chrono::duration<double>(steady::now() - started).count());
    set_phase("preparing");
  }

  auto pending = co_await storage.async_query(
      "SELECT name, snapshot, snapshot_until::text FROM fieldsync.collections "
      "WHERE snapshot IS NOT NULL AND failure IS NULL");
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

ingest::~ingest() {
  try {
    request_stop();
  } catch (...) {
    // Posting the timer's cancel could not allocate: the flag is set, and the ingest sees
    // it at its next wake.
    impl_->stop_requested = true;
  }
}

void ingest::start() {
  spawn_logged(impl_->ex, impl_->run(), "ingest");
}

void ingest::request_stop() {
  impl_->stop_requested = true;
  // The timer belongs to the ingest's executor, which may run on another thread.
  asio::post(impl_->ex, [d = impl_] { d->sleep_timer.cancel(); });
}

namespace {

// Runs on the ingest's executor (its timer lives there).
asio::awaitable<void> until_finished(std::shared_ptr<ingest::impl> d) {
  while (!d->finished) {
    (void)co_await d->done.async_wait(as_tuple(use_awaitable));
  }
}

}  // namespace

asio::awaitable<void> ingest::async_stop() {
  request_stop();
  // Waits on the ingest's executor and resumes on the caller's. (A named awaitable: GCC 12
  // mishandles a capturing lambda's temporary inside co_await.)
  auto waiting = until_finished(impl_);
  co_await asio::co_spawn(impl_->ex, std::move(waiting), use_awaitable);
}

bool ingest::stopped() const noexcept { return impl_->finished; }

ingest_status ingest::status() const {
  std::lock_guard lock(impl_->status_mutex);
  return impl_->status;
}

const ingest_options& ingest::options() const noexcept { return impl_->opts; }

}  // namespace fieldsync::storage
