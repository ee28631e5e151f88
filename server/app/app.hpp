#pragma once
// The process: one io_context (the reactor) with the public and admin listeners, the
// database pool, and graceful shutdown on SIGINT/SIGTERM.
//
// Concurrency contract: run() runs the reactor on the calling thread; everything else
// of the app lives on that io_context. stop() is the one member safe from other threads.

#include "server/access/authenticator.hpp"
#include "server/access/collection_registry.hpp"
#include "server/core/config.hpp"
#include "server/net/connection_registry.hpp"
#include "server/live/fanout_hub.hpp"
#include "server/net/listener.hpp"
#include "server/mutations/mutation_service.hpp"
#include "server/live/live_sync.hpp"
#include "server/pull/pull_service.hpp"
#include "server/core/metrics_registry.hpp"
#include "server/net/router.hpp"
#include "server/net/ws_metrics.hpp"
#include "server/net/ws_protocol.hpp"
#include "server/mutations/ws_push.hpp"
#include "storage/ingest.hpp"
#include "storage/log_compactor.hpp"
#include "storage/log_listener.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fieldsync::server {

class revocation_store;
class node_heartbeat;

// A start-up failure: an occupied port, an unreachable database. One line; exit code 1.
class startup_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class app {
 public:
  explicit app(config cfg);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Runs after the database answered and before the listeners accept (demo data, for
  // instance). Exceptions thrown by it are start-up failures.
  using startup_hook = std::function<boost::asio::awaitable<void>(app&)>;

  // Binds the listeners, checks the database, runs `on_start`, serves until SIGINT,
  // SIGTERM or stop(), then shuts down gracefully. Throws startup_error when the server
  // cannot start. `on_ready` runs once everything accepts connections.
  void run(startup_hook on_start = {}, std::function<void(app&)> on_ready = {});

  // Starts the graceful shutdown. Thread-safe.
  void stop();

  // Runs `f` when shutdown begins (to cancel a background task's timer, for example).
  void on_shutdown(std::function<void()> f);

  boost::asio::io_context& io() noexcept { return ioc_; }
  // The source database (the synced tables) and fieldsync's storage database (the change
  // log); the same pool when database.storage_dsn is empty.
  storage::pg_pool& pool() noexcept { return *pool_; }
  storage::pg_pool& storage_pool() noexcept { return *storage_pool_; }
  // The collections with their scopes, as the source catalog describes them (filled
  // during start-up, before the listeners accept).
  const collection_registry& collections() const noexcept { return collections_; }
  const authenticator& auth() const noexcept { return auth_; }
  // The ingest of this node; null when replication.ingest is off or nothing is synced.
  const storage::ingest* ingest() const noexcept { return ingest_.get(); }
  // Client writes (POST /v1/mutations, the WebSocket push); null until start-up made it.
  std::shared_ptr<mutation_service> mutations() const noexcept { return mutations_; }
  // The HTTP pulls and the Shape API; made with the app.
  const std::shared_ptr<pull_service>& pulls() const noexcept { return pulls_; }
  const config& cfg() const noexcept { return cfg_; }
  const connection_registry& connections() const noexcept { return registry_; }
  // The Prometheus metrics of /metrics; features register theirs at construction.
  metrics_registry& metrics() noexcept { return metrics_; }
  boost::asio::ip::tcp::endpoint public_endpoint() const;
  boost::asio::ip::tcp::endpoint admin_endpoint() const;
  std::chrono::system_clock::time_point started_at() const noexcept { return started_at_; }

 private:
  boost::asio::awaitable<void> start(startup_hook on_start, std::function<void(app&)> on_ready);
  boost::asio::awaitable<void> start_change_feed();
  boost::asio::awaitable<void> start_mutations();
  void add_live_sync(const std::shared_ptr<ws_protocol>& protocol);
  void run_reactors();
  void begin_shutdown();
  void close_connections();
  void await_drain(std::chrono::steady_clock::time_point deadline);

  config cfg_;
  // Declared before the io_context so they outlive it: sessions whose coroutines are
  // destroyed with the io_context unregister themselves and may reference the routes.
  connection_registry registry_;
  metrics_registry metrics_;
  ws_metrics ws_metrics_;
  router public_routes_;
  router admin_routes_;
  boost::asio::io_context ioc_{1};
  // The ingest's own reactor, run by a thread of its own (docs/fanout.md, "Threads").
  boost::asio::io_context ingest_ioc_{1};
  std::shared_ptr<storage::pg_pool> pool_;
  std::shared_ptr<storage::pg_pool> storage_pool_;
  std::shared_ptr<storage::log_listener> changes_;
  // The versions of committed mutation batches: told by the ingest, else read from the log.
  std::shared_ptr<storage::commit_version_waiter> versions_;
  authenticator auth_;
  collection_registry collections_;
  std::shared_ptr<storage::ingest> ingest_;
  std::shared_ptr<storage::log_compactor> compactor_;
  std::shared_ptr<mutation_service> mutations_;
  std::shared_ptr<pull_service> pulls_;
  std::shared_ptr<fanout_hub> hub_;
  std::shared_ptr<live_sync> live_sync_;
  std::shared_ptr<revocation_store> revocations_;
  std::shared_ptr<node_heartbeat> heartbeat_;  // this node's row in the cluster view
  std::shared_ptr<listener> public_listener_;
  std::shared_ptr<listener> admin_listener_;
  std::vector<std::function<void()>> shutdown_hooks_;
  std::string startup_failure_;
  bool shutting_down_ = false;
  bool serving_ = false;               // the listeners accept: a shutdown drains first
  std::atomic<bool> draining_{false};  // read by /readyz
  std::chrono::system_clock::time_point started_at_;
};

}  // namespace fieldsync::server
