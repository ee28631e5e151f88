#include "server/live/subscription_start.hpp"

#include "server/live/log_page.hpp"
#include "server/live/sync_messages.hpp"
#include "server/net/ws_close_codes.hpp"
#include "server/net/ws_protocol.hpp"
#include "storage/log_sql.hpp"
#include "storage/snapshot_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

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

// How often, 100 ms apart, a start looks again for the hub to follow the log into the epoch
// the start read, before it gives up and asks the client to retry.
constexpr int epoch_waits = 100;

std::string failed_message(const std::string& collection) {
  return "collection " + collection +
         " could not be copied into the change log (the server's log says why): it is "
         "unavailable until an operator fixes it";
}

std::string not_loaded_message(const std::string& collection) {
  return "collection " + collection + " is not in the change log yet (its copy is running): retry";
}

// A cursor ahead of the log is one of a batch that a crash of the storage database took
// away after the client got it; the log writes it again with the same positions
// (storage/change_log_writer.hpp, deferred commits), and then the cursor resumes.
constexpr const char* ahead_message =
    "the cursor is ahead of the change log, which is writing again what a restart of its "
    "database took away: retry (a cursor this log did not give out never resumes: subscribe "
    "without one)";

std::string reset_message(storage::cursor_verdict v) {
  switch (v) {
    case storage::cursor_verdict::other_epoch:
      return "the cursor is of another epoch of the log (history was lost): re-snapshotting";
    case storage::cursor_verdict::before_horizon:
      return "the cursor is older than the log's retention: re-snapshotting";
    case storage::cursor_verdict::before_load:
      return "the cursor predates the collection's (re)load: re-snapshotting";
    default:
      return "re-snapshotting";
  }
}

}  // namespace

subscription_start::subscription_start(std::shared_ptr<fanout_hub> hub,
                                       std::shared_ptr<live_subscription> s,
                                       std::uint64_t generation,
                                       std::optional<std::string> reset_reason)
    : hub_(std::move(hub)),
      s_(std::move(s)),
      generation_(generation),
      reset_reason_(std::move(reset_reason)),
      out_(hub_->strand_, s_->session, hub_->options_.session_queue_messages,
           hub_->options_.session_queue_bytes, hub_->options_.stall_timeout) {}

asio::awaitable<void> subscription_start::run() {
  if (!co_await await_position() || !alive()) co_return;
  if (hub_->starts_.full()) {
    fail("unavailable", "too many subscriptions are starting on this server: retry later");
    co_return;
  }
  // Held to the end of the start, however it ends.
  const auto slot = co_await hub_->starts_.acquire(s_->user, s_.get());
  if (!slot || !alive()) co_return;
  auto from = start_from::snapshot;
  if (reset_reason_) {
    send_reset(*reset_reason_, "the log's history changed (new epoch): re-snapshotting");
  } else if (s_->start_cursor) {
    from = co_await check_cursor(*s_->start_cursor);
  }
  if (from == start_from::over) co_return;
  if (from == start_from::snapshot) {
    if (!co_await snapshot()) co_return;
  }
  if (!co_await catch_up()) co_return;
  // What is still gathered goes before up-to-date (both are posts from this strand).
  out_.flush();
  hub_->go_live(s_);
}

bool subscription_start::alive() const {
  return !hub_->stopped_ && s_->generation == generation_ &&
         s_->state != live_subscription::phase::ended;
}

void subscription_start::send_reset(const std::string& reason, const std::string& message) {
  if (hub_->metrics_) hub_->metrics_->resets->add();
  out_.push(nullptr, sync_messages::reset(s_->id, reason, message));
}

// Ends the subscription with an error the client sees; it may subscribe again.
void subscription_start::fail(const std::string& code, const std::string& message) {
  if (!alive()) return;
  spdlog::debug("subscription {} of session {}: {}: {}", boost::json::serialize(s_->id),
                s_->session_id, code, message);
  out_.push(nullptr, ws_protocol::error_message(code, message, &s_->id));
  out_.flush();
  hub_->forget(s_);
}

void subscription_start::stalled() {
  if (auto session = s_->session.lock()) {
    session->close(ws_close::slow_consumer,
                   "the client does not read its snapshot: reconnect with your cursor");
  }
  if (alive()) hub_->forget(s_);
}

// false: the task is over (its subscription ended or failed).
asio::awaitable<bool> subscription_start::settle(std::size_t max_outstanding) {
  auto r = co_await out_.settle(max_outstanding);
  if (r == start_pacer::outcome::stalled) {
    stalled();
    co_return false;
  }
  co_return alive() && r == start_pacer::outcome::ok;
}

asio::awaitable<bool> subscription_start::await_position() {
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

// Whether the client's cursor can be resumed from (then it is the subscription's position)
// or the client is reset and gets a snapshot.
asio::awaitable<subscription_start::start_from> subscription_start::check_cursor(
    const cursor& from) {
  const std::string& name = s_->collection->schema.name;
  auto conn = co_await hub_->pool_->async_acquire();
  if (!alive()) co_return start_from::over;
  if (!conn) {
    fail("unavailable", "the change log is unavailable: " + conn.error().to_string());
    co_return start_from::over;
  }
  auto bounds = co_await storage::async_log_bounds(**conn, name);
  if (!alive()) co_return start_from::over;
  if (!bounds) {
    fail("unavailable", "the change log is unavailable: " + bounds.error().to_string());
    co_return start_from::over;
  }
  if (*bounds) s_->start_epoch = (*bounds)->epoch;
  const auto verdict =
      *bounds ? storage::check_cursor(**bounds, from) : storage::cursor_verdict::no_log;
  switch (verdict) {
    case storage::cursor_verdict::ok:
      s_->position = from;
      co_return start_from::cursor;
    case storage::cursor_verdict::no_log:
      fail("unavailable", "the change log does not exist yet");
      co_return start_from::over;
    case storage::cursor_verdict::failed:
      fail("collection_failed", failed_message(name));
      co_return start_from::over;
    case storage::cursor_verdict::not_loaded:
      fail("unavailable", not_loaded_message(name));
      co_return start_from::over;
    case storage::cursor_verdict::ahead:
      fail("unavailable", ahead_message);
      co_return start_from::over;
    default:
      send_reset(std::string(storage::to_string(verdict)), reset_message(verdict));
      co_return start_from::snapshot;
  }
}

asio::awaitable<bool> subscription_start::snapshot() {
  const auto& c = *s_->collection;
  protocol::sql_params params;
  params.offset = 1;  // snapshot_stream's own $1
  auto column = [](const protocol::column_schema& col) { return storage::log_column_sql(col); };
  const std::string where = protocol::compile_sql(s_->filter.scope, column, params) + " AND " +
                            protocol::compile_sql(s_->filter.where, column, params);
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
    const auto opening = co_await open_snapshot(reader, attempt);
    if (opening.next == snapshot_opening::step::over) co_return false;
    if (opening.next == snapshot_opening::step::retry) {
      asio::steady_timer wait(hub_->strand_, 100ms);
      co_await wait.async_wait(as_tuple(use_awaitable));
      if (!alive()) co_return false;
      continue;
    }
    if (!co_await send_snapshot(reader, opening.watermark)) co_return false;
    co_await reader.async_end();
    if (!alive()) co_return false;
    s_->position = opening.watermark;
    co_return true;
  }
}

// Begins the snapshot's transaction and reads the log's bounds in it.
asio::awaitable<subscription_start::snapshot_opening> subscription_start::open_snapshot(
    storage::snapshot_stream& reader, int attempt) {
  const std::string& name = s_->collection->schema.name;
  auto begun = co_await reader.async_begin();
  if (!alive()) co_return snapshot_opening{};
  if (!begun || !*begun) {
    fail("unavailable", begun ? "the change log does not exist yet"
                              : "the change log is unavailable: " + begun.error().to_string());
    co_return snapshot_opening{};
  }
  const storage::log_bounds bounds = **begun;
  s_->start_epoch = bounds.epoch;
  if (bounds.epoch != hub_->position_->epoch) {
    // The hub has not followed the log into its new epoch yet; let it, then retry.
    co_await reader.async_end();
    if (attempt >= epoch_waits) {
      fail("unavailable", "the change log is changing epochs: retry");
      co_return snapshot_opening{};
    }
    co_return snapshot_opening{snapshot_opening::step::retry, {}};
  }
  if (!bounds.loaded) {
    co_await reader.async_end();
    if (!bounds.failure.empty()) {
      fail("collection_failed", failed_message(name));
    } else {
      fail("unavailable", not_loaded_message(name));
    }
    co_return snapshot_opening{};
  }
  co_return snapshot_opening{
      snapshot_opening::step::ready,
      cursor{bounds.epoch, storage::snapshot_position(bounds), cursor::whole_transaction}};
}

// The snapshot's rows in batches, each page read while the client reads the previous one.
asio::awaitable<bool> subscription_start::send_snapshot(storage::snapshot_stream& reader,
                                                        const cursor& watermark) {
  const std::size_t page_rows = hub_->options_.snapshot_batch_rows;
  const std::size_t message_bytes =
      std::min(snapshot_message_bytes, hub_->options_.session_queue_bytes / 4);
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
        const bool sent = out_.push(nullptr, batch.finish(false, watermark));
        batch = sync_messages::snapshot_batch(s_->id);
        if (!sent) continue;  // GCC 12: no co_await in a condition with &&
        if (!co_await settle(2)) co_return false;
      }
    }
    if (!more) {
      out_.push(nullptr, batch.finish(true, watermark));
      co_return true;
    }
    // Read the next page while the client reads this one; then wait for it.
    if (batch.rows() > 0) out_.push(nullptr, batch.finish(false, watermark));
    out_.flush();
    page = co_await reader.async_next(page_rows);
    if (!co_await settle(2)) co_return false;
    if (page && page->empty()) {
      sync_messages::snapshot_batch empty(s_->id);
      out_.push(nullptr, empty.finish(true, watermark));
      co_return true;
    }
  }
}

// Changes of the collection after the subscription's position, up to the hub's.
asio::awaitable<bool> subscription_start::catch_up() {
  for (int waits = 0;;) {
    if (!alive()) co_return false;
    const cursor hub_at = *hub_->position_;
    if (s_->position.epoch != hub_at.epoch) {
      if (!co_await await_hub_epoch(waits)) co_return false;
      continue;
    }
    if (!(s_->position < hub_at)) co_return true;  // caught up: joins live in this same step
    const cursor goal{hub_at.epoch, hub_at.position, cursor::whole_transaction};
    auto page = co_await read_catch_up(goal);
    if (!page) co_return false;
    const bool full = page->size() >= hub_->options_.read_changes;
    if (!co_await send_catch_up(*page, goal, full)) co_return false;
  }
}

// The log is in the subscription's epoch (its start read so) and the hub has not followed
// it there yet: its notification is on the way. Wait, as snapshot() does; new_epoch() leaves
// this task be (start_epoch). Had the hub gone on to another epoch instead, new_epoch() would
// have restarted the subscription (not alive).
asio::awaitable<bool> subscription_start::await_hub_epoch(int& waits) {
  if (++waits > epoch_waits) {
    fail("unavailable", "the change log is changing epochs: retry");
    co_return false;
  }
  asio::steady_timer wait(hub_->strand_, 100ms);
  co_await wait.async_wait(as_tuple(use_awaitable));
  co_return true;
}

// A page of the collection's changes after the subscription's position, up to `goal`;
// nullopt when the task is over.
asio::awaitable<std::optional<std::vector<storage::log_change>>> subscription_start::read_catch_up(
    const cursor& goal) {
  const std::string& name = s_->collection->schema.name;
  auto conn = co_await hub_->pool_->async_acquire();
  if (!alive()) co_return std::nullopt;
  if (!conn) {
    fail("unavailable", "the change log is unavailable: " + conn.error().to_string());
    co_return std::nullopt;
  }
  auto read = co_await storage::async_read_changes_in_epoch(
      **conn, s_->position, goal.position, hub_->options_.read_changes, &name);
  if (!alive()) co_return std::nullopt;
  if (!read) {
    fail("unavailable", "reading the change log failed: " + read.error().to_string());
    co_return std::nullopt;
  }
  // The log left the subscription's epoch after its start checked it: nothing of that epoch
  // may reach the client any more (not even up-to-date). new_epoch() resets and restarts it
  // when the hub follows, which the reset's notification makes it do.
  if (!*read) co_return std::nullopt;
  if ((*read)->high < goal.position) {
    // The hub delivered a batch that a crash of the storage database then took away; the
    // log writes it again with the same positions. Catching up now would skip it.
    fail("unavailable", "the change log is catching up after a restart of its database: retry");
    co_return std::nullopt;
  }
  co_return std::move((*read)->changes);
}

// Sends the page's changes that the subscription sees, paced; false when the task is over.
asio::awaitable<bool> subscription_start::send_catch_up(
    const std::vector<storage::log_change>& page, const cursor& goal, bool full) {
  const auto& delete_columns = hub_->delete_columns(*s_->collection);
  const std::size_t consumed = full ? page.size() - 1 : page.size();
  for (std::size_t i = 0; i < consumed; ++i) {
    const auto& lc = page[i];
    const cursor after = cursor_after(goal.epoch, page, i, !full);
    const auto d = classify(s_->filter, lc.change);
    s_->position = after;
    if (d == delivery::none) continue;
    const bool sent = out_.push(
        s_->head, sync_messages::change_body(lc.change, d, lc.position, after, delete_columns));
    // GCC 12: keep co_await out of conditions with && (it crashes on them).
    if (!sent) continue;
    if (!co_await settle(2)) co_return false;
  }
  if (!full) s_->position = goal;
  co_return co_await settle(2);
}

}  // namespace fieldsync::server
