#pragma once
// What the admin listener's routes read, handed to them by the app (which owns all of it
// and outlives the routes). Services made during start-up are reached through getters that
// answer null until then.

#include "server/core/metrics_registry.hpp"
#include "server/mutations/mutation_service.hpp"
#include "server/net/connection_registry.hpp"
#include "server/net/http_types.hpp"
#include "server/net/router.hpp"
#include "storage/ingest.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

// This process in the cluster (fieldsync.nodes, docs/protocol.md "Cluster").
struct node_identity {
  std::string id;    // random per process start
  std::string name;  // server.node_name, else the host name
};

struct admin_services {
  std::string admin_token;  // server.admin_token; empty: the admin API is off
  std::string slot;         // replication.slot, described by /admin/v1/status
  std::shared_ptr<storage::pg_pool> source_pool;
  std::shared_ptr<storage::pg_pool> storage_pool;
  const connection_registry& connections;
  metrics_registry& metrics;
  std::function<const storage::ingest*()> ingest;
  mutation_service_source mutations;
  std::chrono::system_clock::time_point started_at;
  node_identity node;
  std::chrono::milliseconds heartbeat_interval;  // server.heartbeat_interval_ms
  // NOTIFYs a disconnect order to the other nodes (storage pool); nullopt or the error.
  std::function<boost::asio::awaitable<std::optional<std::string>>(std::string payload)> broadcast;
  // True once the node began to drain (SIGTERM): /readyz fails so load balancers move away.
  std::function<bool()> draining;
};

// nullopt when the request carries the admin bearer token; otherwise the answer to give.
std::optional<http_response> check_admin(const request_context& ctx, const admin_services& s);

// /healthz, /readyz, /metrics and /admin/v1/* (docs/protocol.md, "Admin listener").
void add_admin_routes(router& r, std::shared_ptr<const admin_services> s);
void add_metrics_route(router& r, std::shared_ptr<const admin_services> s);  // metrics_route.cpp
void add_client_routes(router& r, std::shared_ptr<const admin_services> s);  // client_routes.cpp
void add_cluster_routes(router& r, std::shared_ptr<const admin_services> s);  // cluster_routes.cpp

// Pieces of /admin/v1/status that the cluster view and the heartbeat reuse (admin_routes.cpp).
boost::json::value ingest_json(const storage::ingest* ingest);
// The slot as the source database sees it; an object with "error" when it cannot be read.
boost::asio::awaitable<boost::json::value> slot_json(const admin_services& s);
// The log's state row; null before the schema exists.
boost::asio::awaitable<boost::json::value> log_json(const admin_services& s);

// Closes this node's sessions (4003): every one of `subject`, or the one with `id`. The ids
// closed (client_routes.cpp).
std::vector<std::uint64_t> disconnect_subject(const connection_registry& connections,
                                              std::string_view subject, std::string_view why);
bool disconnect_session(const connection_registry& connections, std::uint64_t id,
                        std::string_view why);
// What /admin/v1/clients says of this node's WebSocket sessions (at most `limit`).
boost::json::array describe_sessions(const connection_registry& connections, std::size_t limit);
// Applies a disconnect order another node NOTIFYed (cluster_view.hpp); ignores others.
void apply_admin_notification(const connection_registry& connections, std::string_view self,
                              std::string_view payload);

}  // namespace fieldsync::server
