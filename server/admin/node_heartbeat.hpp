#pragma once
// This node's row in fieldsync.nodes (migration 4 of storage/log_schema), renewed every
// server.heartbeat_interval_ms, so that any node can show the whole cluster
// (/admin/v1/cluster) and every node's clients (/admin/v1/clients). With each beat it
// publishes its connection counts, whether it leads the ingest, what its ingest reports,
// and its WebSocket session list when that changed since the last publication. It deletes
// rows that were not renewed for an hour (at least 6 of their intervals), and its own row
// when it stops gracefully.
//
// The beat also sets the cluster gauges of /metrics: the slot's lag and retained WAL, the
// live nodes, this node's leadership and its changes.
//
// A node may start before the schema exists (the ingest leader migrates): a missing table
// is warned about once and the next beat tries again.
//
// Concurrency contract: lives on the app's io_context; start and stop are called there.

#include "server/admin/admin_services.hpp"
#include "server/admin/cluster_view.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace fieldsync::server {

struct node_heartbeat_options {
  std::chrono::milliseconds interval{5'000};
  // The session list published at most (the rest is left out; the row says how many
  // there were). 10,000 descriptions are about 3 MB of jsonb.
  std::size_t max_published_clients = 10'000;
};

class node_heartbeat : public std::enable_shared_from_this<node_heartbeat> {
 public:
  // Registers the metrics in `admin->metrics` (before the listeners accept).
  static std::shared_ptr<node_heartbeat> create(boost::asio::any_io_executor ex,
                                                std::shared_ptr<const admin_services> admin,
                                                node_heartbeat_options options);

  // Beats from now on; `admin_address` is where this node's admin listener is bound.
  void start(std::string admin_address);
  // Ends the beats and deletes this node's row; stopped() once that is done (or failed).
  void stop();
  bool stopped() const noexcept { return !running_; }

  node_heartbeat(boost::asio::any_io_executor ex, std::shared_ptr<const admin_services> admin,
                 node_heartbeat_options options);

 private:
  boost::asio::awaitable<void> run(std::shared_ptr<boost::asio::steady_timer> timer);
  boost::asio::awaitable<void> beat();
  boost::asio::awaitable<void> measure_slot();

  boost::asio::any_io_executor ex_;
  std::shared_ptr<const admin_services> admin_;
  node_heartbeat_options options_;
  std::string admin_address_;
  std::weak_ptr<boost::asio::steady_timer> timer_;
  bool running_ = false;
  bool stopping_ = false;
  bool warned_missing_ = false;
  // The session list as last stored; empty: store it with the next beat.
  std::string published_;
  leader_watch leadership_;
  metric_gauge* slot_lag_bytes_ = nullptr;
  metric_gauge* retained_wal_bytes_ = nullptr;
  metric_gauge* cluster_nodes_ = nullptr;
  metric_gauge* leader_ = nullptr;
  metric_counter* leader_changes_ = nullptr;
};

}  // namespace fieldsync::server
