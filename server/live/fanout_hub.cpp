#include "server/live/fanout_hub.hpp"

#include "protocol/walsender_message.hpp"
#include "server/core/spawn_logged.hpp"
#include "server/live/log_page.hpp"
#include "server/live/subscription_start.hpp"
#include "server/live/sync_messages.hpp"
#include "server/live/sync_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>

namespace fieldsync::server {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using protocol::cursor;
using namespace std::chrono_literals;

namespace {

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

std::shared_ptr<fanout_hub> fanout_hub::create(asio::io_context& ioc,
                                               std::shared_ptr<storage::pg_pool> pool,
                                               std::shared_ptr<storage::log_listener> changes,
                                               fanout_options options, ws_metrics* metrics) {
  return std::shared_ptr<fanout_hub>(
      new fanout_hub(ioc, std::move(pool), std::move(changes), std::move(options), metrics));
}

fanout_hub::fanout_hub(asio::io_context& ioc, std::shared_ptr<storage::pg_pool> pool,
                       std::shared_ptr<storage::log_listener> changes, fanout_options options,
                       ws_metrics* metrics)
    : strand_(asio::make_strand(ioc)),
      pool_(std::move(pool)),
      options_(std::move(options)),
      metrics_(metrics),
      changes_(std::move(changes)),
      retry_(strand_),
      starts_(strand_, options_.concurrent_starts, options_.max_queued_starts,
              options_.queued_starts_gauge) {
  options_.read_changes = std::max<std::size_t>(2, options_.read_changes);
  options_.snapshot_batch_rows = std::max<std::size_t>(1, options_.snapshot_batch_rows);
}

void fanout_hub::start() {
  std::weak_ptr<fanout_hub> weak = shared_from_this();
  auto follow = [weak, strand = strand_](const storage::log_position& p) {
    asio::post(strand, [weak, p] {
      if (auto hub = weak.lock()) hub->on_advance(p);
    });
  };
  // The listener may have heard the log already (it serves the whole node).
  if (changes_->position().epoch != 0) follow(changes_->position());
  changes_->subscribe(std::move(follow));
}

void fanout_hub::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    if (self->conn_) self->conn_->cancel();
    self->retry_.cancel();
    self->starts_.cancel_all();
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
  // However the pump ends, the next advance can start another: an exception (logged by
  // spawn_logged) must not leave the hub deaf for the rest of the process's life.
  struct pump_end {
    bool& pumping;
    ~pump_end() { pumping = false; }
  } end{pumping_};
  auto backoff = 100ms;
  while (!stopped_ && target_ && position_) {
    if (target_->epoch != position_->epoch) {
      new_epoch(target_->epoch, target_->high);
      continue;
    }
    cursor goal{target_->epoch, target_->high, cursor::whole_transaction};
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
        co_await back_off(backoff);
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
      co_await back_off(backoff);
      continue;
    }
    backoff = 100ms;
    if (metrics_) {
      metrics_->hub_reads->add();
      metrics_->changes_read->add(*page ? (*page)->changes.size() : 0);
    }
    if (target_->epoch != goal.epoch) continue;  // the log changed epochs meanwhile
    // The log left the hub's epoch, and its notification has not arrived yet: it will
    // (the reset notifies; a reconnecting listener reads the state), and new_epoch() then
    // resets every subscription. Nothing read now may go out under the old epoch.
    if (!*page) break;
    if ((*page)->high < goal.position) {
      // The log lost a batch in a crash after it was announced, and writes it again (with
      // the same positions) before it announces more. Nothing beyond what it holds is
      // skipped: the goal is what it holds, and the next notification moves it on.
      if (target_->high == goal.position) target_->high = (*page)->high;
      goal.position = (*page)->high;
    }
    const bool full = (*page)->changes.size() >= options_.read_changes;
    dispatch((*page)->changes, full);
    // Never backwards: what was delivered stays delivered (a lost batch comes back the same).
    if (!full && *position_ < goal) position_ = goal;
  }
}

// Waits `backoff` before the pump's next try, and doubles it for the one after (to 5 s).
asio::awaitable<void> fanout_hub::back_off(std::chrono::milliseconds& backoff) {
  retry_.expires_after(backoff);
  co_await retry_.async_wait(as_tuple(use_awaitable));
  backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
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

const std::vector<std::string>& fanout_hub::delete_columns(const collection_access& c) {
  return state_of(c).delete_columns;
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
  starts_.cancel(s.get());  // a start of it still waiting for a slot gives way to this one
  s->state = live_subscription::phase::starting;
  s->start_epoch = 0;
  auto t = std::make_shared<subscription_start>(shared_from_this(), s, generation,
                                                std::move(reset_reason));
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

// Undoes go_live(): out of the index and of its session's peer.
void fanout_hub::leave_live(const std::shared_ptr<live_subscription>& s) {
  if (!s->filter.matches_nothing()) state_of(*s->collection).index.remove(s.get(), s->constraint);
  --live_;
  if (s->peer && --s->peer->subscriptions == 0) peers_.erase(s->session_id);
  s->peer = nullptr;
}

// Ends a subscription, live or starting (its start task then stops at its next step).
void fanout_hub::end(const std::shared_ptr<live_subscription>& s) {
  starts_.cancel(s.get());
  auto it = subscriptions_.find(s.get());
  if (it == subscriptions_.end()) return;
  if (s->state == live_subscription::phase::live) leave_live(s);
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
    if (s->state == live_subscription::phase::live) leave_live(s);
    start_task(s, std::string("other_epoch"));
    s->start_epoch = epoch;
  }
}

}  // namespace fieldsync::server
