#pragma once
// The fan-out hub: delivers the change log to this node's live subscriptions.
//
// The hub follows the log's high-water mark (the node's storage::log_listener: LISTEN
// fieldsync_log) and, for each advance, reads the new entries once for the whole node (one query on a
// connection of its own, `fanout_read_changes` entries per page), matches every change
// against the subscriptions of its collection through their subscription_index, judges
// each candidate on the old and the new row (classify), encodes each message once and
// hands it, with the subscription's head, to the sessions (one post per session per page).
//
// A subscription starts in a task of its own (subscription_start.hpp): snapshot or
// catch-up up to the hub's position, then it joins the live delivery. Live delivery skips
// changes at or before a subscription's own position, so the hand-over has no gap and no
// duplicate whichever of the two is ahead.
//
// A session whose send queue overflows is closed with 4008 by ws_session; its client
// resumes from its cursors. Memory is bounded by the page size, the session queues and
// the per-session subscription limit.
//
// Concurrency contract: lives on a strand of the io_context; add(), remove() and stop() may
// be called from any thread and post there. Sessions are only ever reached by posting to
// their own executor (ws_session::send).

#include "server/access/collection_registry.hpp"
#include "server/live/live_subscription.hpp"
#include "server/live/start_slots.hpp"
#include "server/live/subscription_index.hpp"
#include "server/net/ws_metrics.hpp"
#include "server/net/ws_session.hpp"
#include "storage/change_log_reader.hpp"
#include "storage/log_listener.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fieldsync::server {

struct fanout_options {
  std::string storage_conninfo;
  std::chrono::milliseconds connect_timeout{5000};
  // The hub's own connection (the log reads).
  storage::pg_session_limits session;
  std::size_t read_changes = 2000;  // log entries per read (hub and catch-ups); >= 2
  std::size_t snapshot_batch_rows = 500;
  std::size_t session_queue_messages = 1024;  // the sessions' limits, to pace snapshots within
  std::size_t session_queue_bytes = 8 << 20;
  // A subscription whose client reads nothing of its snapshot or catch-up for this long
  // gets its session closed with 4008 (it holds a database connection meanwhile).
  std::chrono::milliseconds stall_timeout{60'000};
  // Subscriptions starting (snapshot, catch-up) at once; the others wait their turn, so
  // that a crowd reconnecting never exhausts the storage pool for everything else.
  std::size_t concurrent_starts = 4;
  // Starts waiting for one of those at most; a subscribe beyond it is refused with `busy`.
  std::size_t max_queued_starts = 20'000;
  metric_gauge* queued_starts_gauge = nullptr;  // follows the starts waiting for a slot
};

// A session's deliveries of one page, gathered on the hub's strand.
struct hub_peer {
  std::weak_ptr<ws_session> session;
  std::vector<ws_message> pending;
  std::size_t subscriptions = 0;
  bool touched = false;
};

class fanout_hub : public std::enable_shared_from_this<fanout_hub> {
 public:
  // `changes`: the node's listener, which the hub follows from start() on.
  static std::shared_ptr<fanout_hub> create(boost::asio::io_context& ioc,
                                            std::shared_ptr<storage::pg_pool> storage_pool,
                                            std::shared_ptr<storage::log_listener> changes,
                                            fanout_options options, ws_metrics* metrics);

  // Called on the listener's executor.
  void start();
  void stop();

  // Starts a subscription (snapshot or catch-up, then live).
  void add(std::shared_ptr<live_subscription> s);
  // Ends one; with `acknowledge`, the session gets {"type":"unsubscribed"} after the last
  // message of it.
  void remove(std::shared_ptr<live_subscription> s, bool acknowledge);

 private:
  // A subscription's start works on the hub's strand and its state: the position it
  // catches up to, the start slots, go_live() and forget().
  friend class subscription_start;
  struct collection_state;

  fanout_hub(boost::asio::io_context& ioc, std::shared_ptr<storage::pg_pool> pool,
             std::shared_ptr<storage::log_listener> changes, fanout_options options,
             ws_metrics* metrics);

  void on_advance(const storage::log_position& p);
  boost::asio::awaitable<void> pump();
  boost::asio::awaitable<void> back_off(std::chrono::milliseconds& backoff);
  void new_epoch(std::int64_t epoch, protocol::lsn high);
  // Matches the page's changes against the live subscriptions and hands the messages to
  // the sessions; returns how many entries it consumed (a full page keeps its last one
  // back, so that "last change of its transaction" is known for every change delivered).
  std::size_t dispatch(const std::vector<storage::log_change>& page, bool full);
  void flush_peers();
  void start_task(const std::shared_ptr<live_subscription>& s,
                  std::optional<std::string> reset_reason);
  void go_live(const std::shared_ptr<live_subscription>& s);
  void leave_live(const std::shared_ptr<live_subscription>& s);
  void end(const std::shared_ptr<live_subscription>& s);
  void forget(const std::shared_ptr<live_subscription>& s);
  collection_state& state_of(const collection_access& c);
  // What a delete message of the collection carries of the row.
  const std::vector<std::string>& delete_columns(const collection_access& c);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::shared_ptr<storage::pg_pool> pool_;
  fanout_options options_;
  ws_metrics* metrics_;
  std::shared_ptr<storage::log_listener> changes_;
  std::unique_ptr<storage::pg_connection> conn_;
  boost::asio::steady_timer retry_;

  std::optional<protocol::cursor> position_;  // H: everything up to it went to live subscriptions
  std::optional<storage::log_position> target_;  // the newest high-water mark heard of
  bool pumping_ = false;
  bool stopped_ = false;

  std::map<std::string, std::unique_ptr<collection_state>, std::less<>> collections_state_;
  std::unordered_map<std::uint64_t, std::unique_ptr<hub_peer>> peers_;
  std::vector<hub_peer*> touched_;
  std::map<live_subscription*, std::shared_ptr<live_subscription>> subscriptions_;
  std::size_t live_ = 0;
  start_slots starts_;
};

}  // namespace fieldsync::server
