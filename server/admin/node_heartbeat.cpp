#include "server/admin/node_heartbeat.hpp"

#include "server/core/version.hpp"
#include "storage/spawn_logged.hpp"
#include "storage/sqlstate.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

std::shared_ptr<node_heartbeat> node_heartbeat::create(asio::any_io_executor ex,
                                                       std::shared_ptr<const admin_services> admin,
                                                       node_heartbeat_options options) {
  return std::make_shared<node_heartbeat>(std::move(ex), std::move(admin), options);
}

node_heartbeat::node_heartbeat(asio::any_io_executor ex,
                               std::shared_ptr<const admin_services> admin,
                               node_heartbeat_options options)
    : ex_(std::move(ex)), admin_(std::move(admin)), options_(options) {
  auto& m = admin_->metrics;
  slot_lag_bytes_ = &m.add_gauge(
      "fieldsync_slot_lag_bytes",
      "WAL bytes the replication slot has not confirmed (pg_current_wal_lsn() - "
      "confirmed_flush_lsn), measured every server.heartbeat_interval_ms; -1: unknown.");
  retained_wal_bytes_ =
      &m.add_gauge("fieldsync_slot_retained_wal_bytes",
                   "WAL bytes the replication slot keeps the source database from removing "
                   "(pg_current_wal_lsn() - restart_lsn); -1: unknown.");
  cluster_nodes_ = &m.add_gauge("fieldsync_cluster_nodes",
                                "Nodes whose heartbeat is current (fieldsync.nodes).");
  leader_ = &m.add_gauge("fieldsync_ingest_leader", "1 while this node leads the ingest, else 0.");
  leader_changes_ = &m.add_counter(
      "fieldsync_leader_changes_total",
      "Times this node became or stopped being the ingest leader (as seen by its heartbeat).");
  slot_lag_bytes_->set(-1);
  retained_wal_bytes_->set(-1);
}

void node_heartbeat::start(std::string admin_address) {
  admin_address_ = std::move(admin_address);
  auto timer = std::make_shared<asio::steady_timer>(ex_);
  timer_ = timer;
  running_ = true;
  spdlog::info("cluster: this node is {} (id {})", admin_->node.name, admin_->node.id);
  storage::spawn_logged(ex_, run(std::move(timer)), "node heartbeat");
}

void node_heartbeat::stop() {
  stopping_ = true;
  if (auto timer = timer_.lock()) timer->cancel();
}

asio::awaitable<void> node_heartbeat::run(std::shared_ptr<asio::steady_timer> timer) {
  auto self = shared_from_this();
  while (!stopping_) {
    co_await beat();
    if (stopping_) break;
    timer->expires_after(options_.interval);
    (void)co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // Gone from the cluster view at once, rather than "down" after 3 intervals.
  auto gone = co_await admin_->storage_pool->async_query(
      "DELETE FROM fieldsync.nodes WHERE id = $1", storage::pg_params(admin_->node.id));
  if (!gone && gone.error().sqlstate != storage::sqlstate::undefined_table) {
    spdlog::warn("heartbeat: cannot remove this node from fieldsync.nodes: {}",
                 gone.error().to_string());
  }
  running_ = false;
}

asio::awaitable<void> node_heartbeat::beat() {
  const auto& a = *admin_;
  const auto* ingest = a.ingest();
  const auto status = ingest ? ingest->status() : storage::ingest_status{};
  const bool leads = ingest && status.leader;
  leader_changes_->add(static_cast<std::uint64_t>(leadership_.observe(
      leads, ingest ? status.leader_since : std::chrono::system_clock::time_point{})));
  leader_->set(leads ? 1 : 0);

  auto sessions = describe_sessions(a.connections, options_.max_published_clients);
  auto listed = json::serialize(sessions);
  std::optional<std::string> clients;
  if (listed != published_) clients = listed;
  const auto started =
      std::chrono::duration_cast<std::chrono::microseconds>(a.started_at.time_since_epoch())
          .count();
  storage::pg_params params(a.node.id, a.node.name, std::string(version()), admin_address_);
  params.add(static_cast<std::int64_t>(started))
      .add(static_cast<std::int64_t>(options_.interval.count()))
      .add(static_cast<std::int64_t>(a.connections.count("http")))
      .add(static_cast<std::int64_t>(a.connections.count("websocket")))
      .add(ingest != nullptr)
      .add(leads)
      .add(json::serialize(ingest_json(ingest)))
      .add(clients);
  // RETURNING whether the row was new: a row inserted without a list (this node's row was
  // pruned while it was away) gets the list with the next beat.
  auto r = co_await a.storage_pool->async_query(
      "INSERT INTO fieldsync.nodes AS n (id, name, version, admin_listen, started_at, "
      "heartbeat_at, interval_ms, http_connections, ws_connections, ingest, leader, "
      "ingest_status, clients, clients_at) "
      "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000000.0), now(), $6, $7, $8, $9, "
      "$10, $11::jsonb, $12::jsonb, CASE WHEN $12 IS NOT NULL THEN now() END) "
      "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), admin_listen = EXCLUDED.admin_listen, "
      "interval_ms = EXCLUDED.interval_ms, http_connections = EXCLUDED.http_connections, "
      "ws_connections = EXCLUDED.ws_connections, ingest = EXCLUDED.ingest, "
      "leader = EXCLUDED.leader, ingest_status = EXCLUDED.ingest_status, "
      "clients = coalesce(EXCLUDED.clients, n.clients), "
      "clients_at = coalesce(EXCLUDED.clients_at, n.clients_at) "
      "RETURNING xmax = 0",
      params);
  if (!r) {
    published_.clear();
    if (r.error().sqlstate == storage::sqlstate::undefined_table) {
      if (!warned_missing_) {
        spdlog::warn(
            "heartbeat: fieldsync.nodes does not exist yet (the ingest leader creates "
            "it); trying again every {} ms",
            options_.interval.count());
        warned_missing_ = true;
      }
    } else {
      spdlog::warn("heartbeat: cannot renew this node's row: {}", r.error().to_string());
    }
  } else {
    if (warned_missing_) spdlog::info("heartbeat: fieldsync.nodes exists now; this node is listed");
    warned_missing_ = false;
    const bool inserted = r->rows() == 1 && r->value(0, 0) == "t";
    if (clients) {
      published_ = std::move(*clients);
    } else if (inserted) {
      published_.clear();
    }
    // The snapshot of the count predates the delete: pruned rows are down ones anyway.
    auto count = co_await a.storage_pool->async_query(
        "WITH pruned AS (DELETE FROM fieldsync.nodes WHERE heartbeat_at < now() - "
        "greatest($1::bigint, 2 * $2::bigint * interval_ms) * interval '1 millisecond') "
        "SELECT count(*) FROM fieldsync.nodes "
        "WHERE heartbeat_at >= now() - $2::bigint * interval_ms * interval '1 millisecond'",
        storage::pg_params(static_cast<std::int64_t>(node_retention.count()),
                           static_cast<std::int64_t>(missed_heartbeats_down)));
    if (count && count->rows() == 1)
      cluster_nodes_->set(std::stoll(std::string(count->value(0, 0))));
  }
  co_await measure_slot();
}

asio::awaitable<void> node_heartbeat::measure_slot() {
  auto slot = co_await slot_json(*admin_);
  auto number = [&](const char* key) -> std::int64_t {
    const auto* o = slot.if_object();
    const auto* v = o ? o->if_contains(key) : nullptr;
    return v && v->is_int64() ? v->get_int64() : -1;
  };
  slot_lag_bytes_->set(number("lag_bytes"));
  retained_wal_bytes_->set(number("retained_wal_bytes"));
}

}  // namespace fieldsync::server
