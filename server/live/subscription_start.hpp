#pragma once
// The start of one live subscription, in a task of its own on the hub's strand: it waits
// for a start slot (start_slots.hpp), checks the client's cursor against the log's bounds,
// sends a snapshot when there is no usable cursor (or after a reset), then catches up with
// the collection's changes up to the hub's position, paced on the client (start_pacer.hpp);
// when it has reached the hub's position it joins the live delivery in the same strand step.
// docs/fanout.md, "Starting a subscription", says why that leaves no gap and no duplicate.
//
// Concurrency contract: runs on the hub's strand and reaches into the hub's state there
// (it is the hub's friend); the hub abandons it by bumping the subscription's generation.

#include "protocol/cursor.hpp"
#include "server/live/fanout_hub.hpp"
#include "server/live/live_subscription.hpp"
#include "server/live/start_pacer.hpp"
#include "storage/change_log_reader.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {
class snapshot_stream;
}

namespace fieldsync::server {

class subscription_start {
 public:
  // `reset_reason`: the client is told to drop its copy (a new epoch) and gets a snapshot.
  subscription_start(std::shared_ptr<fanout_hub> hub, std::shared_ptr<live_subscription> s,
                     std::uint64_t generation, std::optional<std::string> reset_reason);

  boost::asio::awaitable<void> run();

 private:
  enum class start_from { cursor, snapshot, over };
  // What opening a snapshot came to: its position, another try, or the end of the task.
  struct snapshot_opening {
    enum class step { ready, retry, over } next = step::over;
    protocol::cursor watermark;
  };

  bool alive() const;
  void send_reset(const std::string& reason, const std::string& message);
  void fail(const std::string& code, const std::string& message);
  void stalled();
  boost::asio::awaitable<bool> settle(std::size_t max_outstanding);

  boost::asio::awaitable<bool> await_position();
  boost::asio::awaitable<start_from> check_cursor(const protocol::cursor& from);
  boost::asio::awaitable<bool> snapshot();
  boost::asio::awaitable<snapshot_opening> open_snapshot(storage::snapshot_stream& reader,
                                                         int attempt);
  boost::asio::awaitable<bool> send_snapshot(storage::snapshot_stream& reader,
                                             const protocol::cursor& watermark);
  boost::asio::awaitable<bool> catch_up();
  boost::asio::awaitable<bool> await_hub_epoch(int& waits);
  boost::asio::awaitable<std::optional<std::vector<storage::log_change>>> read_catch_up(
      const protocol::cursor& goal);
  boost::asio::awaitable<bool> send_catch_up(const std::vector<storage::log_change>& page,
                                             const protocol::cursor& goal, bool full);

  std::shared_ptr<fanout_hub> hub_;
  std::shared_ptr<live_subscription> s_;
  std::uint64_t generation_;
  std::optional<std::string> reset_reason_;
  start_pacer out_;
};

}  // namespace fieldsync::server
