#include "server/live/fanout_hub.hpp"

#include "protocol/walsender_message.hpp"
#include "server/core/spawn_logged.hpp"
#include "server/live/sync_messages.hpp"
#include "server/live/sync_session.hpp"
#include "server/net/ws_close_codes.hpp"
#include "server/net/ws_protocol.hpp"
#include "storage/log_sql.hpp"
#include "storage/snapshot_reader.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>

namespace fieldsync::server {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using protocol::cursor;
using namespace std::chrono_literals;

namespace {

// Snapshot messages are cut at about this size (or a quarter of a session's byte limit),
// so that one never approaches that limit whatever websocket.snapshot_batch_rows says.
constexpr std::size_t snapshot_message_bytes = 256 * 1024;

// How long a new subscription waits for the hub to learn the log's position (the log may
// not exist yet right after the first start).
constexpr auto position_wait = 10s;

cursor position_of(std::int64_t epoch, const storage::log_change& c) {
  return cursor{epoch, c.position, c.idx};
}

// The cursor sent with the i-th change of a page: the whole transaction's when it is the
// last change of its transaction, else the change's own position.
cursor cursor_after(std::int64_t epoch, const std::vector<storage::log_change>& page, std::size_t i,
                    bool page_reached_goal) {
  const auto& c = page[i];
  const bool last = i + 1 < page.size() ? page[i + 1].position != c.position : page_reached_goal;
  return last ? cursor{epoch, c.position, cursor::whole_transaction} : position_of(epoch, c);
}

double seconds_since(protocol::pg_timestamp commit, protocol::pg_timestamp now) {
  return static_cast<double>(now - commit) / 1e6;
}

}  // namespace

struct fanout_hub::collection_state {
  explicit collection_state(const collection_access& c) : access(&c), index(&c.schema) {
    delete_columns = c.schema.primary_key;
    if (c.read_scope) {
      for (const auto& col : c.read_scope->columns) {
        if (std::find(delete_columns.begin(), delete_columns.end(), col.name) ==
            delete_columns.end()) {
          delete_columns.push_back(col.name);
        }
      }
    }
  }

  const collection_access* access;
  subscription_index<live_subscription> index;
  std::vector<std::string> delete_columns;  // what a delete message carries of the row
};

// Sends a starting subscription's messages in chunks and lets its task wait until the
// client has read them: a snapshot or a catch-up can be far larger than a send queue.
struct fanout_hub::pacer {
  enum class outcome { ok, gone, stalled };

  struct signal {
    explicit signal(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::size_t outstanding = 0;  // chunks handed to the session, not yet written or dropped
    bool dropped = false;         // the session dropped one: it is closing
  };

  pacer(fanout_hub& hub, const live_subscription& s)
      : strand(hub.strand_),
        session(s.session),
        // At most three chunks are unwritten at a time (settle(2) after each): well inside
        // the session's queue, with room for its other subscriptions' live changes.
        chunk_messages(std::max<std::size_t>(
            1, std::min<std::size_t>(256, hub.options_.session_queue_messages / 8))),
        chunk_bytes(std::max<std::size_t>(1, hub.options_.session_queue_bytes / 8)),
        stall(hub.options_.stall_timeout),
        sig(std::make_shared<signal>(hub.strand_)) {}

  // True when a chunk went out: the caller then settles before pushing much more.
  bool push(std::shared_ptr<const std::string> head, std::string body) {
    bytes += (head ? head->size() : 0) + body.size();
    chunk.push_back(
        ws_message{std::move(head), std::make_shared<const std::string>(std::move(body)), nullptr});
    if (chunk.size() < chunk_messages && bytes < chunk_bytes) return false;
    flush();
    return true;
  }

  void flush() {
    if (chunk.empty()) return;
    auto s = session.lock();
    if (!s) {
      sig->dropped = true;
      chunk.clear();
      return;
    }
    chunk.back().on_done = [sig = sig, ex = strand](bool written) {
      asio::post(ex, [sig, written] {
        --sig->outstanding;
        if (!written) sig->dropped = true;
        sig->timer.cancel();
      });
    };
    ++sig->outstanding;
    s->send(std::move(chunk));
    chunk.clear();
    bytes = 0;
  }

  // Waits until at most `max_outstanding` chunks are unwritten.
  asio::awaitable<outcome> settle(std::size_t max_outstanding) {
    flush();
    while (sig->outstanding > max_outstanding && !sig->dropped) {
      sig->timer.expires_after(stall);
      auto [ec] = co_await sig->timer.async_wait(as_tuple(use_awaitable));
      if (!ec && sig->outstanding > max_outstanding && !sig->dropped) co_return outcome::stalled;
    }
    co_return sig->dropped ? outcome::gone : outcome::ok;
  }

  asio::strand<asio::io_context::executor_type> strand;
  std::weak_ptr<ws_session> session;
  std::size_t chunk_messages;
  std::size_t chunk_bytes;
  std::chrono::milliseconds stall;
  std::shared_ptr<signal> sig;
  std::vector<ws_message> chunk;
  std::size_t bytes = 0;
};

// The start of one subscription: cursor check, snapshot, catch-up; then it goes live.
class fanout_hub::task {
 public:
  task(std::shared_ptr<fanout_hub> hub, std::shared_ptr<live_subscription> s,
       std::uint64_t generation, std::optional<std::string> reset_reason)
      : hub_(std::move(hub)),
        s_(std::move(s)),
        generation_(generation),
        reset_reason_(std::move(reset_reason)),
        out_(*hub_, *s_) {}

  asio::awaitable<void> run() {
    if (!co_await await_position()) co_return;
    auto slot = std::make_shared<start_slot>(hub_->strand_);
    if (hub_->free_starts_ > 0) {
      --hub_->free_starts_;
      slot->granted = true;
    } else {
      slot->timer.expires_at(asio::steady_timer::time_point::max());
      hub_->start_queue_.push_back(slot);
      co_await slot->timer.async_wait(as_tuple(use_awaitable));
    }
    // Handed on to the next waiting start however this one ends.
    struct release {
      fanout_hub& hub;
      start_slot& slot;
      ~release() {
        if (!slot.granted) return;
        if (!hub.start_queue_.empty()) {
          auto next = std::move(hub.start_queue_.front());
          hub.start_queue_.pop_front();
          next->granted = true;
          next->timer.cancel();
          return;
        }
        ++hub.free_starts_;
      }
    } released{*hub_, *slot};
    if (!slot->granted || !alive()) co_return;
    const std::string& name = s_->collection->schema.name;
    std::optional<cursor> from;
    if (reset_reason_) {
      send_reset(*reset_reason_, "the log's history changed (new epoch): re-snapshotting");
    } else {
      from = s_->start_cursor;
    }
    if (from) {
      auto conn = co_await hub_->pool_->async_acquire();
      if (!alive()) co_return;
      if (!conn)
        co_return fail("unavailable", "the change log is unavailable: " + conn.error().to_string());
      auto bounds = co_await storage::async_log_bounds(**conn, name);
      if (!alive()) co_return;
      if (!bounds)
        co_return fail("unavailable",
                       "the change log is unavailable: " + bounds.error().to_string());
      if (*bounds) s_->start_epoch = (*bounds)->epoch;
      auto verdict =
          *bounds ? storage::check_cursor(**bounds, *from) : storage::cursor_verdict::no_log;
      if (verdict == storage::cursor_verdict::no_log)
        co_return fail("unavailable", "the change log does not exist yet");
      if (verdict == storage::cursor_verdict::failed)
        co_return fail("collection_failed", failed_message(name));
      if (verdict == storage::cursor_verdict::not_loaded)
        co_return fail("unavailable", "collection " + name +
                                          " is not in the change log yet (its copy is running): retry");
      if (verdict != storage::cursor_verdict::ok) {
        send_reset(std::string(storage::to_string(verdict)), reset_message(verdict));
        from.reset();
      } else {
        s_->position = *from;
      }
    }
    if (!from && !co_await snapshot()) co_return;
    if (!co_await catch_up()) co_return;
    // What is still gathered goes before up-to-date (both are posts from this strand).
    out_.flush();
    hub_->go_live(s_);
  }

 private:
  bool alive() const {
    return !hub_->stopped_ && s_->generation == generation_ &&
           s_->state != live_subscription::phase::ended;
  }

  static std::string failed_message(const std::string& collection) {
    return "collection " + collection +
           " could not be copied into the change log (the server's log says why): it is "
           "unavailable until an operator fixes it";
  }

  static std::string reset_message(storage::cursor_verdict v) {
    switch (v) {
      case storage::cursor_verdict::other_epoch:
        return "the cursor is of another epoch of the log (history was lost): re-snapshotting";
      case storage::cursor_verdict::before_horizon:
        return "the cursor is older than the log's retention: re-snapshotting";
      case storage::cursor_verdict::before_load:
        return "the cursor predates the collection's (re)load: re-snapshotting";
      case storage::cursor_verdict::ahead:
        return "the cursor is ahead of the log: not one this log gave out; re-snapshotting";
      default:
        return "re-snapshotting";
    }
  }

  void send_reset(const std::string& reason, const std::string& message) {
    if (hub_->metrics_) hub_->metrics_->resets->add();
    out_.push(nullptr, sync_messages::reset(s_->id, reason, message));
  }

  // Ends the subscription with an error the client sees; it may subscribe again.
  void fail(const std::string& code, const std::string& message) {
    if (!alive()) return;
    spdlog::debug("subscription {} of session {}: {}: {}", boost::json::serialize(s_->id),
                  s_->session_id, code, message);
    out_.push(nullptr, ws_protocol::error_message(code, message, &s_->id));
    out_.flush();
    hub_->forget(s_);
  }

  void stalled() {
    if (auto session = s_->session.lock()) {
      session->close(ws_close::slow_consumer,
                     "the client does not read its snapshot: reconnect with your cursor");
    }
    if (alive()) hub_->forget(s_);
  }

  // false: the task is over (its subscription ended or failed).
  asio::awaitable<bool> settle(std::size_t max_outstanding) {
    auto r = co_await out_.settle(max_outstanding);
    if (r == pacer::outcome::stalled) {
      stalled();
      co_return false;
    }
    co_return alive() && r == pacer::outcome::ok;
  }

  asio::awaitable<bool> await_position() {
    if (hub_->position_) co_return true;
    asio::steady_timer wait(hub_->strand_);
    const auto deadline = std::chrono::steady_clock::now() + position_wait;
    while (!hub_->position_ && alive() && std::chrono::steady_clock::now() < deadline) {
      // The listener learns the position from the next notification, which a quiet log may
      // not send for a while: read it. Nothing is live before the hub has a position, so
      // starting live delivery at the log's current high-water mark skips nobody.
      auto conn = co_await hub_->pool_->async_acquire();
      if (conn && !hub_->position_) {
        auto bounds = co_await storage::async_log_bounds(**conn, s_->collection->schema.name);
        if (bounds && *bounds && !hub_->position_) {
          hub_->position_ = cursor{(*bounds)->epoch, (*bounds)->high, cursor::whole_transaction};
          break;
        }
      }
      wait.expires_after(100ms);
      co_await wait.async_wait(as_tuple(use_awaitable));
    }
    if (!alive()) co_return false;
    if (!hub_->position_) {
      fail("unavailable", "the change log is not available yet: retry");
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> snapshot() {
    const auto& c = *s_->collection;
    protocol::sql_params params;
    params.offset = 1;  // snapshot_stream's own $1
    auto column = [](const protocol::column_schema& col) { return storage::log_column_sql(col); };
    std::string where = protocol::compile_sql(s_->filter.scope, column, params) + " AND " +
                        protocol::compile_sql(s_->filter.where, column, params);
    const std::size_t page_rows = hub_->options_.snapshot_batch_rows;
    const std::size_t message_bytes =
        std::min(snapshot_message_bytes, hub_->options_.session_queue_bytes / 4);

    for (int attempt = 0;; ++attempt) {
      auto conn = co_await hub_->pool_->async_acquire();
      if (!alive()) co_return false;
      if (!conn) {
        fail("unavailable", "the change log is unavailable: " + conn.error().to_string());
        co_return false;
      }
      // One pass over the live rows in one transaction (a connection abandoned in it is
      // closed by the pool, not reused).
      storage::snapshot_stream reader(**conn, c.schema.name, where, params.values);
      auto begun = co_await reader.async_begin();
      if (!alive()) co_return false;
      if (!begun || !*begun) {
        fail("unavailable", begun ? "the change log does not exist yet"
                                  : "the change log is unavailable: " + begun.error().to_string());
        co_return false;
      }
      const storage::log_bounds bounds = **begun;
      s_->start_epoch = bounds.epoch;
      if (bounds.epoch != hub_->position_->epoch) {
        // The hub has not followed the log into its new epoch yet; let it, then retry.
        co_await reader.async_end();
        if (attempt >= 100) {
          fail("unavailable", "the change log is changing epochs: retry");
          co_return false;
        }
        asio::steady_timer wait(hub_->strand_, 100ms);
        co_await wait.async_wait(as_tuple(use_awaitable));
        if (!alive()) co_return false;
        continue;
      }
      if (!bounds.loaded) {
        co_await reader.async_end();
        if (!bounds.failure.empty()) {
          fail("collection_failed", failed_message(c.schema.name));
        } else {
          fail("unavailable", "collection " + c.schema.name +
                                  " is not in the change log yet (its copy is running): retry");
        }
        co_return false;
      }
      const cursor watermark{bounds.epoch, storage::snapshot_position(bounds),
                             cursor::whole_transaction};

      auto page = co_await reader.async_next(page_rows);
      for (;;) {
        if (!alive()) co_return false;
        if (!page) {
          co_await reader.async_end(false);
          fail("internal_error", "reading the snapshot failed: " + page.error().to_string());
          co_return false;
        }
        std::vector<storage::snapshot_row> rows = std::move(*page);
        const bool more = rows.size() >= page_rows;
        sync_messages::snapshot_batch batch(s_->id);
        for (std::size_t i = 0; i < rows.size(); ++i) {
          batch.add_row(rows[i].key, rows[i].version, rows[i].row_json);
          if (batch.bytes() >= message_bytes && (more || i + 1 < rows.size())) {
            bool sent = out_.push(nullptr, batch.finish(false, watermark));
            batch = sync_messages::snapshot_batch(s_->id);
            if (sent && !co_await settle(2)) co_return false;
          }
        }
        if (!more) {
          out_.push(nullptr, batch.finish(true, watermark));
          break;
        }
        // Read the next page while the client reads this one; then wait for it.
        if (batch.rows() > 0) out_.push(nullptr, batch.finish(false, watermark));
        out_.flush();
        page = co_await reader.async_next(page_rows);
        if (!co_await settle(2)) co_return false;
        if (page && page->empty()) {
          sync_messages::snapshot_batch empty(s_->id);
          out_.push(nullptr, empty.finish(true, watermark));
          break;
        }
      }
      co_await reader.async_end();
      if (!alive()) co_return false;
      s_->position = watermark;
      co_return true;
    }
  }

  // Changes of the collection after the subscription's position, up to the hub's.
  asio::awaitable<bool> catch_up() {
    const std::string& name = s_->collection->schema.name;
    auto& state = hub_->state_of(*s_->collection);
    const std::size_t limit = hub_->options_.read_changes;
    for (int waits = 0;;) {
      if (!alive()) co_return false;
      const cursor hub_at = *hub_->position_;
      if (s_->position.epoch != hub_at.epoch) {
        // The log is in the subscription's epoch (its start read so) and the hub has not
        // followed it there yet: its notification is on the way. Wait, as snapshot() does;
        // new_epoch() leaves this task be (start_epoch). Had the hub gone on to another
        // epoch instead, new_epoch() would have restarted the subscription (not alive).
        if (++waits > 100) {
          fail("unavailable", "the change log is changing epochs: retry");
          co_return false;
        }
        asio::steady_timer wait(hub_->strand_, 100ms);
        co_await wait.async_wait(as_tuple(use_awaitable));
        continue;
      }
      if (!(s_->position < hub_at)) co_return true;  // caught up: joins live in this same step
      const cursor goal{hub_at.epoch, hub_at.position, cursor::whole_transaction};
      std::vector<storage::log_change> page;
      {
        auto conn = co_await hub_->pool_->async_acquire();
        if (!alive()) co_return false;
        if (!conn) {
          fail("unavailable", "the change log is unavailable: " + conn.error().to_string());
          co_return false;
        }
        auto read = co_await storage::async_read_changes_in_epoch(**conn, s_->position,
                                                                  goal.position, limit, &name);
        if (!alive()) co_return false;
        if (!read) {
          fail("unavailable", "reading the change log failed: " + read.error().to_string());
          co_return false;
        }
        // The log left the subscription's epoch after its start checked it: nothing of
        // that epoch may reach the client any more (not even up-to-date). new_epoch()
        // resets and restarts it when the hub follows, which the reset's notification
        // makes it do.
        if (!*read) co_return false;
        page = std::move(**read);
      }
      const bool full = page.size() >= limit;
      const std::size_t consumed = full ? page.size() - 1 : page.size();
      for (std::size_t i = 0; i < consumed; ++i) {
        const auto& lc = page[i];
        const cursor after = cursor_after(goal.epoch, page, i, !full);
        const auto d = classify(s_->filter, lc.change);
        s_->position = after;
        if (d == delivery::none) continue;
        // GCC 12: keep co_await out of conditions with && (it crashes on them).
        const bool sent = out_.push(
            s_->head,
            sync_messages::change_body(lc.change, d, lc.position, after, state.delete_columns));
        if (!sent) continue;
        const bool settled = co_await settle(2);
        if (!settled) co_return false;
      }
      if (!full) s_->position = goal;
      if (!co_await settle(2)) co_return false;
    }
  }

  std::shared_ptr<fanout_hub> hub_;
  std::shared_ptr<live_subscription> s_;
  std::uint64_t generation_;
  std::optional<std::string> reset_reason_;
  pacer out_;
};

std::shared_ptr<fanout_hub> fanout_hub::create(asio::io_context& ioc,
                                               std::shared_ptr<storage::pg_pool> pool,
                                               fanout_options options, ws_metrics* metrics) {
  return std::shared_ptr<fanout_hub>(
      new fanout_hub(ioc, std::move(pool), std::move(options), metrics));
}

fanout_hub::fanout_hub(asio::io_context& ioc, std::shared_ptr<storage::pg_pool> pool,
                       fanout_options options, ws_metrics* metrics)
    : strand_(asio::make_strand(ioc)),
      pool_(std::move(pool)),
      options_(std::move(options)),
      metrics_(metrics),
      retry_(strand_) {
  options_.read_changes = std::max<std::size_t>(2, options_.read_changes);
  free_starts_ = std::max<std::size_t>(1, options_.concurrent_starts);
  options_.snapshot_batch_rows = std::max<std::size_t>(1, options_.snapshot_batch_rows);
}

void fanout_hub::start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopped_) return;
    std::weak_ptr<fanout_hub> weak = self;
    storage::log_listener_options lo;
    lo.connect_timeout = self->options_.connect_timeout;
    lo.check_interval = self->options_.listen_check_interval;
    lo.session = self->options_.session;
    self->listener_ = storage::log_listener::create(
        self->strand_, self->options_.storage_conninfo,
        [weak](const storage::log_position& p) {
          if (auto hub = weak.lock()) hub->on_advance(p);
        },
        lo);
    self->listener_->start();
  });
}

void fanout_hub::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    if (self->listener_) self->listener_->stop();
    if (self->conn_) self->conn_->cancel();
    self->retry_.cancel();
    for (auto& waiting : self->start_queue_) waiting->timer.cancel();
    self->start_queue_.clear();
  });
}

void fanout_hub::on_advance(const storage::log_position& p) {
  if (stopped_) return;
  target_ = p;
  if (!position_) {
    // The first position heard: live delivery starts here; anyone older catches up alone.
    position_ = cursor{p.epoch, p.high, cursor::whole_transaction};
    return;
  }
  if (!pumping_) {
    pumping_ = true;
    spawn_logged(strand_, pump(), "fan-out hub pump");
  }
}

asio::awaitable<void> fanout_hub::pump() {
  auto self = shared_from_this();
  auto backoff = 100ms;
  while (!stopped_ && target_ && position_) {
    if (target_->epoch != position_->epoch) {
      new_epoch(target_->epoch, target_->high);
      continue;
    }
    const cursor goal{target_->epoch, target_->high, cursor::whole_transaction};
    if (!(*position_ < goal)) break;
    if (live_ == 0) {
      // Nobody to deliver to: subscriptions that start later catch up by themselves.
      position_ = goal;
      continue;
    }
    if (!conn_ || !conn_->check_idle()) {
      auto conn = co_await storage::pg_connection::async_connect(
          strand_, options_.storage_conninfo, options_.connect_timeout, {}, options_.session);
      if (stopped_) break;
      if (!conn) {
        spdlog::warn("fan-out hub: cannot connect to the storage database: {}",
                     conn.error().to_string());
        retry_.expires_after(backoff);
        co_await retry_.async_wait(as_tuple(use_awaitable));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      conn_ = std::move(*conn);
    }
    auto page = co_await storage::async_read_changes_in_epoch(*conn_, *position_, goal.position,
                                                              options_.read_changes);
    if (stopped_) break;
    if (!page) {
      spdlog::warn("fan-out hub: reading the change log: {}", page.error().to_string());
      conn_.reset();
      retry_.expires_after(backoff);
      co_await retry_.async_wait(as_tuple(use_awaitable));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = 100ms;
    if (metrics_) {
      metrics_->hub_reads->add();
      metrics_->changes_read->add(*page ? (*page)->size() : 0);
    }
    if (target_->epoch != goal.epoch) continue;  // the log changed epochs meanwhile
    // The log left the hub's epoch, and its notification has not arrived yet: it will
    // (the reset notifies; a reconnecting listener reads the state), and new_epoch() then
    // resets every subscription. Nothing read now may go out under the old epoch.
    if (!*page) break;
    const bool full = (*page)->size() >= options_.read_changes;
    dispatch(**page, full);
    if (!full) position_ = goal;
  }
  pumping_ = false;
}

std::size_t fanout_hub::dispatch(const std::vector<storage::log_change>& page, bool full) {
  const std::int64_t epoch = position_->epoch;
  const std::size_t consumed = full ? page.size() - 1 : page.size();
  const auto now = protocol::to_pg_timestamp(std::chrono::system_clock::now());
  for (std::size_t i = 0; i < consumed; ++i) {
    const auto& lc = page[i];
    const cursor at = position_of(epoch, lc);
    const cursor after = cursor_after(epoch, page, i, !full);
    position_ = after;
    auto it = collections_state_.find(lc.change.collection);
    if (it == collections_state_.end() || it->second->index.size() == 0) continue;
    auto& state = *it->second;
    std::array<std::shared_ptr<const std::string>, 4> bodies;
    const bool is_update = lc.change.op == protocol::change_op::update && lc.change.old_row;
    const double latency = seconds_since(lc.commit_time, now);
    state.index.for_each_candidate(
        lc.change.row, is_update ? &*lc.change.old_row : nullptr, [&](live_subscription* s) {
          if (s->state != live_subscription::phase::live || !(s->position < at)) return;
          s->position = after;
          const auto d = classify(s->filter, lc.change);
          if (d == delivery::none) return;
          auto& body = bodies[static_cast<std::size_t>(d)];
          if (!body) {
            body = std::make_shared<const std::string>(
                sync_messages::change_body(lc.change, d, lc.position, after, state.delete_columns));
          }
          hub_peer* p = s->peer;
          p->pending.push_back(ws_message{s->head, body, nullptr});
          if (!p->touched) {
            p->touched = true;
            touched_.push_back(p);
          }
          if (metrics_) metrics_->commit_to_enqueue->observe(latency);
        });
    // Long pages go out in pieces, so the first changes of a page do not wait for the last.
    if (touched_.size() > 0 && (i + 1) % 256 == 0) flush_peers();
  }
  flush_peers();
  return consumed;
}

void fanout_hub::flush_peers() {
  for (hub_peer* p : touched_) {
    p->touched = false;
    if (auto session = p->session.lock()) session->send(std::move(p->pending));
    p->pending = {};
  }
  touched_.clear();
}

fanout_hub::collection_state& fanout_hub::state_of(const collection_access& c) {
  auto it = collections_state_.find(c.schema.name);
  if (it == collections_state_.end()) {
    it = collections_state_.emplace(c.schema.name, std::make_unique<collection_state>(c)).first;
  }
  return *it->second;
}

void fanout_hub::add(std::shared_ptr<live_subscription> s) {
  asio::post(strand_, [self = shared_from_this(), s = std::move(s)] {
    if (self->stopped_) return;
    self->subscriptions_.emplace(s.get(), s);
    if (self->metrics_) self->metrics_->subscriptions->add();
    self->start_task(s, std::nullopt);
  });
}

void fanout_hub::remove(std::shared_ptr<live_subscription> s, bool acknowledge) {
  asio::post(strand_, [self = shared_from_this(), s = std::move(s), acknowledge] {
    self->end(s);
    if (acknowledge) {
      // Posted after everything of it: nothing of the subscription follows the answer.
      if (auto session = s->session.lock()) session->send(sync_messages::unsubscribed(s->id));
    }
  });
}

void fanout_hub::start_task(const std::shared_ptr<live_subscription>& s,
                            std::optional<std::string> reset_reason) {
  const auto generation = ++s->generation;
  s->state = live_subscription::phase::starting;
  s->start_epoch = 0;
  auto t = std::make_shared<task>(shared_from_this(), s, generation, std::move(reset_reason));
  spawn_logged(strand_, [t]() { return t->run(); }, "subscription task");
}

void fanout_hub::go_live(const std::shared_ptr<live_subscription>& s) {
  s->state = live_subscription::phase::live;
  ++live_;
  auto& peer = peers_[s->session_id];
  if (!peer) {
    peer = std::make_unique<hub_peer>();
    peer->session = s->session;
  }
  ++peer->subscriptions;
  s->peer = peer.get();
  // A subscription that can match nothing is live without costing the index anything.
  if (!s->filter.matches_nothing()) state_of(*s->collection).index.add(s.get(), s->constraint);
  if (auto session = s->session.lock())
    session->send(sync_messages::up_to_date(s->id, s->position));
}

// Takes a live subscription out of the live delivery (it is then starting or ended).
void fanout_hub::end(const std::shared_ptr<live_subscription>& s) {
  auto it = subscriptions_.find(s.get());
  if (it == subscriptions_.end()) return;
  if (s->state == live_subscription::phase::live) {
    if (!s->filter.matches_nothing()) state_of(*s->collection).index.remove(s.get(), s->constraint);
    --live_;
    if (s->peer && --s->peer->subscriptions == 0) peers_.erase(s->session_id);
    s->peer = nullptr;
  }
  s->state = live_subscription::phase::ended;
  subscriptions_.erase(it);
  if (metrics_) metrics_->subscriptions->sub();
}

// Ends a subscription from the hub's side: the session forgets it too, so its id is free.
void fanout_hub::forget(const std::shared_ptr<live_subscription>& s) {
  end(s);
  if (auto session = s->session.lock()) {
    asio::post(session->get_executor(), [session, s] { forget_subscription(*session, s); });
  }
}

void fanout_hub::new_epoch(std::int64_t epoch, protocol::lsn high) {
  spdlog::warn("fan-out hub: the change log started epoch {}: every subscription re-snapshots",
               epoch);
  position_ = cursor{epoch, high, cursor::whole_transaction};
  std::vector<std::shared_ptr<live_subscription>> all;
  for (auto& [raw, s] : subscriptions_) all.push_back(s);
  for (auto& s : all) {
    // Its start already read the log in this epoch (and reset its client if it had to):
    // it is waiting for the hub to get here.
    if (s->state == live_subscription::phase::starting && s->start_epoch == epoch) continue;
    if (s->state == live_subscription::phase::live) {
      if (!s->filter.matches_nothing())
        state_of(*s->collection).index.remove(s.get(), s->constraint);
      --live_;
      if (s->peer && --s->peer->subscriptions == 0) peers_.erase(s->session_id);
      s->peer = nullptr;
    }
    start_task(s, std::string("other_epoch"));
    s->start_epoch = epoch;
  }
}

}  // namespace fieldsync::server
