#include "server/app/app.hpp"

#include "server/access/revocation_store.hpp"
#include "server/admin/admin_services.hpp"
#include "server/admin/cluster_view.hpp"
#include "server/admin/node_heartbeat.hpp"
#include "server/admin/revocation_routes.hpp"
#include "server/app/routes.hpp"
#include "server/core/database_limits.hpp"
#include "server/core/endpoint.hpp"
#include "storage/pg_conninfo.hpp"
#include "storage/source_catalog.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <csignal>
#include <optional>
#include <thread>

#include <unistd.h>

namespace fieldsync::server {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using namespace std::chrono_literals;

namespace {

// server.node_name, else the host name.
std::string node_name_of(const config& cfg) {
  if (!cfg.server.node_name.empty()) return cfg.server.node_name;
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) return "fieldsync";
  return std::string(host.data());
}

std::string address_text(const asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace

app::app(config cfg)
    : cfg_(std::move(cfg)),
      ws_metrics_(ws_metrics::create(metrics_)),
      auth_(cfg_.auth),
      started_at_(std::chrono::system_clock::now()) {
  // Pooled sessions serve requests: a statement over database.statement_timeout_ms is
  // cancelled, so one expensive request cannot hold a pooled connection for long. The
  // ingest, the hub and the LISTEN sessions are not pooled and not limited.
  const auto limited = [&](const std::string& dsn) {
    const auto ms = cfg_.database.statement_timeout.count();
    return ms == 0 ? dsn
                   : storage::conninfo_with_setting(dsn, "statement_timeout", std::to_string(ms));
  };
  storage::pg_pool_options pool_opts;
  pool_opts.conninfo = limited(cfg_.database.dsn);
  pool_opts.size = cfg_.database.pool_size;
  pool_opts.connect_timeout = cfg_.database.connect_timeout;
  pool_opts.acquire_timeout = cfg_.database.acquire_timeout;
  pool_opts.session = session_limits(cfg_.database);
  auto storage_opts = pool_opts;
  pool_ = storage::pg_pool::create(ioc_.get_executor(), std::move(pool_opts));
  if (cfg_.database.storage_dsn.empty() || cfg_.database.storage_dsn == cfg_.database.dsn) {
    storage_pool_ = pool_;
  } else {
    storage_opts.conninfo = limited(cfg_.database.storage_dsn);
    storage_pool_ = storage::pg_pool::create(ioc_.get_executor(), std::move(storage_opts));
  }
  changes_ = storage::log_listener::create(ioc_.get_executor(), storage_dsn(cfg_),
                                           listener_options(cfg_.database));
  pulls_ = std::make_shared<pull_service>(
      pull_dependencies{ioc_.get_executor(), auth_, collections_, storage_pool_, changes_,
                        &metrics_.add_counter("fieldsync_long_poll_reads_total",
                                              "Log reads of waiting long-polls woken because "
                                              "their collection changed.")},
      cfg_.pulls);
  add_public_routes(public_routes_, *this);
  auto admin = std::make_shared<const admin_services>(admin_services{
      cfg_.server.admin_token, cfg_.replication.slot, pool_, storage_pool_, registry_, metrics_,
      [this] { return ingest_.get(); }, [this] { return mutations_; }, started_at_,
      node_identity{random_node_id(), node_name_of(cfg_)}, cfg_.server.heartbeat_interval,
      [pool = storage_pool_](std::string payload) -> asio::awaitable<std::optional<std::string>> {
        auto r = co_await pool->async_query(
            "SELECT pg_notify($1, $2)", storage::pg_params(std::string(admin_channel), payload));
        if (!r) co_return r.error().to_string();
        co_return std::nullopt;
      },
      [this] { return draining_.load(); }});
  add_admin_routes(admin_routes_, admin);
  heartbeat_ = node_heartbeat::create(
      ioc_.get_executor(), admin, node_heartbeat_options{cfg_.server.heartbeat_interval, 10'000});
  // Disconnects ordered through another node's admin API (client_routes.cpp).
  changes_->listen(std::string(admin_channel),
                   [this, self = admin->node.id](std::string_view payload) {
                     apply_admin_notification(registry_, self, payload);
                   });
  // A refresh that brings revocations taken on another node closes the sessions they refuse.
  revocations_ = revocation_store::create(ioc_.get_executor(), storage_pool_, auth_.revocations(),
                                          cfg_.auth.revocation_refresh,
                                          [this] { close_revoked_sessions(registry_, auth_); });
  add_revocation_routes(admin_routes_, admin, revocations_, auth_);
}

app::~app() = default;

asio::ip::tcp::endpoint app::public_endpoint() const { return public_listener_->local_endpoint(); }
asio::ip::tcp::endpoint app::admin_endpoint() const { return admin_listener_->local_endpoint(); }

void app::on_shutdown(std::function<void()> f) { shutdown_hooks_.push_back(std::move(f)); }

void app::run(startup_hook on_start, std::function<void(app&)> on_ready) {
  http_limits limits;
  limits.max_header_bytes = cfg_.server.max_header_bytes;
  limits.max_body_bytes = cfg_.server.max_body_bytes;
  limits.request_timeout = cfg_.server.request_timeout;
  limits.keepalive_timeout = cfg_.server.keepalive_timeout;

  ws_options ws;
  ws.max_message_bytes = cfg_.websocket.max_message_bytes;
  ws.send_queue_messages = cfg_.websocket.send_queue_messages;
  ws.send_queue_bytes = cfg_.websocket.send_queue_bytes;
  ws.handshake_timeout = cfg_.websocket.handshake_timeout;
  ws.idle_timeout = cfg_.websocket.idle_timeout;
  ws.permessage_deflate = cfg_.websocket.permessage_deflate;
  ws.batch_bytes = cfg_.websocket.batch_bytes;
  ws.allowed_origins = cfg_.websocket.allowed_origins;
  ws.metrics = &ws_metrics_;

  auto protocol = std::make_shared<ws_protocol>();
  add_live_sync(protocol);

  auto public_ctx = std::make_shared<listener_context>(
      listener_context{"public", &public_routes_, limits, protocol, ws, &registry_});
  auto admin_ctx = std::make_shared<listener_context>(
      listener_context{"admin", &admin_routes_, limits, nullptr, ws, &registry_});

  // config validation guarantees both parse. Each listener counts its own connections, so
  // a flood of the public port leaves the admin one answering.
  try {
    public_listener_ = listener::bind(ioc_, *parse_endpoint(cfg_.server.listen), public_ctx,
                                      cfg_.server.max_connections);
    admin_listener_ = listener::bind(ioc_, *parse_endpoint(cfg_.server.admin_listen), admin_ctx,
                                     cfg_.server.admin_max_connections);
  } catch (const std::runtime_error& e) {
    throw startup_error(e.what());
  }

  asio::signal_set signals(ioc_, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received {}, shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
    begin_shutdown();
  });

  // Not spawn_logged: a start-up failure is the caller's to report (run() throws
  // startup_error once the reactor has stopped), which is the contract of `serve` and `dev`.
  asio::co_spawn(ioc_, start(std::move(on_start), std::move(on_ready)),
                 [this](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     startup_failure_ = ex.what();
                   }
                   begin_shutdown();
                 });
  run_reactors();
  if (!startup_failure_.empty()) throw startup_error(startup_failure_);
}

// The ingest runs on a reactor and a thread of its own: sending 100,000 messages a second
// to clients on this one must not delay what the log stores (docs/fanout.md, "Threads").
// It shares nothing with the rest but its status (copied under a lock), the metrics
// (atomics) and the transactions it decoded (told to the version waiter under its lock); it
// stops first (begin_shutdown) and is waited for (await_drain). A node that does not ingest
// has no such thread.
void app::run_reactors() {
  struct ingest_reactor {
    explicit ingest_reactor(asio::io_context& i) : io(i) {}
    ingest_reactor(const ingest_reactor&) = delete;
    ingest_reactor& operator=(const ingest_reactor&) = delete;
    asio::io_context& io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::jthread thread{[this] { io.run(); }};
    ~ingest_reactor() {
      work.reset();
      io.stop();  // after a shutdown timeout the ingest may still be running: abandon it
    }             // then the thread is joined
  };
  std::optional<ingest_reactor> ingest;
  if (cfg_.replication.ingest) ingest.emplace(ingest_ioc_);
  ioc_.run();
}

asio::awaitable<void> app::start(startup_hook on_start, std::function<void(app&)> on_ready) {
  auto check = co_await pool_->async_query("SELECT 1");
  if (!check) {
    throw startup_error("cannot connect to PostgreSQL (" +
                        storage::describe_conninfo(cfg_.database.dsn) +
                        "): " + check.error().to_string());
  }
  // The deny list before the first token is checked; a node that cannot read it yet
  // (no schema before the first ingest) starts with an empty one and rereads it.
  auto denied = co_await revocations_->async_refresh();
  if (!denied)
    spdlog::warn("revocations: cannot read the deny list: {}", denied.error().to_string());
  revocations_->start();
  if (on_start) co_await on_start(*this);
  if (shutting_down_) co_return;
  versions_ = storage::commit_version_waiter::create(ioc_.get_executor(), storage_pool_, changes_);
  co_await start_change_feed();
  if (shutting_down_) co_return;
  co_await start_mutations();
  if (shutting_down_) co_return;
  changes_->start();
  hub_->start();
  public_listener_->start();
  admin_listener_->start();
  heartbeat_->start(address_text(admin_endpoint()));
  serving_ = true;
  spdlog::info("ready");
  if (on_ready) on_ready(*this);
}

asio::awaitable<void> app::start_change_feed() {
  if (cfg_.collections.empty()) {
    spdlog::warn("no [collections] configured: nothing is synced");
    co_return;
  }
  std::vector<storage::collection_spec> specs;
  for (const auto& c : cfg_.collections) specs.push_back({c.name, c.table, c.primary_key, c.columns});
  auto conn = co_await pool_->async_acquire();
  if (!conn) throw startup_error("cannot connect to PostgreSQL: " + conn.error().to_string());
  auto described = co_await storage::async_describe_collections(**conn, specs);
  if (!described) throw startup_error("configuration does not match the database: " + described.error().message);
  try {
    collections_ = collection_registry(cfg_.collections, *described);
  } catch (const config_error& e) {
    throw startup_error(std::string("configuration: ") + e.what());
  }
  storage::compaction_options co;
  co.history = cfg_.changelog.history;
  co.tombstones = cfg_.changelog.tombstone;
  co.interval = cfg_.changelog.compaction_interval;
  compactor_ = storage::log_compactor::create(ioc_.get_executor(), storage_pool_, co);
  compactor_->start();
  if (!cfg_.replication.ingest) {
    spdlog::info("replication.ingest is off: this node serves, another one ingests");
    co_return;
  }
  storage::ingest_options o;
  o.source_conninfo = cfg_.database.dsn;
  o.storage_conninfo = storage_dsn(cfg_);
  o.slot = cfg_.replication.slot;
  o.publication = cfg_.replication.publication;
  o.collections = std::move(*described);
  o.connect_timeout = cfg_.database.connect_timeout;
  o.session = session_limits(cfg_.database);
  o.status_interval = cfg_.replication.status_interval;
  o.heartbeat_interval = cfg_.replication.heartbeat_interval;
  o.reconnect_min = cfg_.replication.reconnect_min;
  o.reconnect_max = cfg_.replication.reconnect_max;
  o.leader_retry = cfg_.replication.leader_retry;
  o.max_transaction_bytes = cfg_.replication.max_transaction_bytes;
  o.batch_max_changes = cfg_.replication.batch_max_changes;
  o.batch_max_bytes = cfg_.replication.batch_max_bytes;
  auto& failures = metrics_.add_counter(
      "fieldsync_collection_failures_total",
      "Collections this node's ingest could not copy, or met a value of it could not read "
      "(each is skipped until fieldsync restarts; /admin/v1/status says why).");
  o.on_collection_failed = [&failures](const std::string&, const std::string&) { failures.add(); };
  o.on_decoded = [versions = versions_](std::uint32_t xid, protocol::lsn commit) {
    versions->decoded(xid, commit);
  };
  ingest_ = storage::ingest::create(ingest_ioc_.get_executor(), std::move(o));
  ingest_->start();
}

asio::awaitable<void> app::start_mutations() {
  std::map<std::string, conflicts::merge_config> merges;
  for (const auto& c : cfg_.collections) merges[c.name] = merge_config_of(c);
  mutation_options o;
  const auto& m = cfg_.mutations;
  o.batch.max_mutations = m.max_batch;
  o.values.max_value_bytes = m.max_value_bytes;
  o.result_retention = m.result_retention;
  o.version_wait = m.version_wait;
  o.lock_timeout = m.lock_timeout;
  o.max_clock_drift = m.max_clock_drift;
  o.conflict_retention = m.conflict_retention;
  o.clock_retention = cfg_.changelog.tombstone;
  o.client_retention = m.client_retention;
  o.max_clients_per_subject = static_cast<std::int64_t>(m.max_clients_per_subject);
  for (const auto& c : cfg_.collections) {
    if (!c.writable_columns.empty() || !c.server_set.empty()) {
      o.columns[c.name] = {c.writable_columns, c.server_set};
    }
  }
  o.versions = versions_;
  o.storage_is_source = storage_pool_ == pool_;
  o.after_commit = mutation_fault_hook_from_environment();
  try {
    mutations_ = co_await mutation_service::async_create(ioc_.get_executor(), pool_, storage_pool_,
                                                         collections_, std::move(merges), std::move(o));
  } catch (const std::runtime_error& e) {
    throw startup_error(e.what());
  }
}

// Live subscriptions and pushes over the WebSocket: the fan-out hub and the fieldsync.v1
// messages.
void app::add_live_sync(const std::shared_ptr<ws_protocol>& protocol) {
  const auto& w = cfg_.websocket;
  fanout_options fo;
  fo.storage_conninfo = storage_dsn(cfg_);
  fo.connect_timeout = cfg_.database.connect_timeout;
  fo.session = session_limits(cfg_.database);
  fo.read_changes = w.fanout_read_changes;
  fo.snapshot_batch_rows = w.snapshot_batch_rows;
  fo.session_queue_messages = w.send_queue_messages;
  fo.session_queue_bytes = w.send_queue_bytes;
  fo.stall_timeout = w.start_stall_timeout;
  fo.max_queued_starts = w.max_queued_starts;
  fo.queued_starts_gauge = &metrics_.add_gauge(
      "fieldsync_subscription_starts_queued",
      "Subscription starts waiting for a start slot (websocket.max_queued_starts at most).");
  // Half the storage pool at most, so pulls and mutations keep connections.
  fo.concurrent_starts = std::max<std::size_t>(1, cfg_.database.pool_size / 2);
  hub_ = fanout_hub::create(ioc_, storage_pool_, changes_, fo, &ws_metrics_);
  live_sync_options lo;
  lo.auth_timeout = w.auth_timeout;
  lo.max_subscriptions_per_session = w.max_subscriptions_per_session;
  lo.max_sessions_per_user = w.max_sessions_per_user;
  lo.token_leeway = cfg_.auth.leeway;
  live_sync_ = std::make_shared<live_sync>(auth_, collections_, hub_, lo, &ws_metrics_);
  live_sync_->install(*protocol);
  install_push(
      *protocol, [this] { return mutations_; },
      cfg_.mutations.max_queued_pushes);
}

void app::stop() {
  asio::post(ioc_, [this] { begin_shutdown(); });
}

// The graceful shutdown (docs/operations.md, "Draining a node"), in three steps:
//  1. drain: /readyz fails (load balancers stop sending new connections) and the ingest
//     stops, which releases the leader lock to another node; everything else keeps serving
//     for server.drain_delay_ms, the time a load balancer needs to notice;
//  2. close: the listeners stop accepting, long-polls answer, WebSockets close with 1012
//     once the pushes they are applying are answered;
//  3. exit once every connection ended and the ingest stopped, or at shutdown_timeout_ms.
void app::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  draining_ = true;
  if (ingest_) ingest_->request_stop();
  // Before the listeners accept (a start-up failure) there is nothing to drain.
  const auto delay = serving_ ? cfg_.server.drain_delay : 0ms;
  if (delay > 0ms) {
    spdlog::info("draining: /readyz fails; connections close in {} ms", delay.count());
  }
  auto timer = std::make_shared<asio::steady_timer>(ioc_, delay);
  timer->async_wait([this, timer](const boost::system::error_code&) { close_connections(); });
}

void app::close_connections() {
  public_listener_->close();
  admin_listener_->close();
  for (auto& hook : shutdown_hooks_) hook();
  if (compactor_) compactor_->stop();
  revocations_->stop();
  heartbeat_->stop();
  pulls_->stop();
  if (hub_) hub_->stop();
  registry_.shutdown_all();
  await_drain(std::chrono::steady_clock::now() + cfg_.server.shutdown_timeout);
}

// Polls until every connection has ended or the deadline passed, then stops the reactor.
// Stopping explicitly (rather than waiting for the io_context to run out of work) means a
// forgotten timer somewhere can never keep the process from exiting. The mutations and the
// change listener stop last: a push being answered during the close may wait for the
// version of its commit.
void app::await_drain(std::chrono::steady_clock::time_point deadline) {
  bool ingest_done = !ingest_ || ingest_->stopped();
  // The heartbeat removes this node's row through the pool, which closes below.
  bool heartbeat_done = heartbeat_->stopped();
  if ((registry_.size() == 0 && ingest_done && heartbeat_done) ||
      std::chrono::steady_clock::now() >= deadline) {
    if (registry_.size() != 0) {
      spdlog::warn("shutdown timeout: {} connections still open ({} HTTP, {} WebSocket)",
                   registry_.size(), registry_.count("http"), registry_.count("websocket"));
    }
    if (!ingest_done) spdlog::warn("shutdown timeout: the ingest did not stop in time");
    if (mutations_) mutations_->stop();
    changes_->stop();
    pool_->close();
    storage_pool_->close();
    ioc_.stop();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(ioc_, 20ms);
  timer->async_wait([this, timer, deadline](const boost::system::error_code&) {
    await_drain(deadline);
  });
}

}  // namespace fieldsync::server
