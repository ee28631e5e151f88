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

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace fieldsync::server {

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
  // True once the node began to drain (SIGTERM): /readyz fails so load balancers move away.
  std::function<bool()> draining;
};

// nullopt when the request carries the admin bearer token; otherwise the answer to give.
std::optional<http_response> check_admin(const request_context& ctx, const admin_services& s);

// /healthz, /readyz, /metrics and /admin/v1/* (docs/protocol.md, "Admin listener").
void add_admin_routes(router& r, std::shared_ptr<const admin_services> s);
void add_metrics_route(router& r, std::shared_ptr<const admin_services> s);  // metrics_route.cpp
void add_client_routes(router& r, std::shared_ptr<const admin_services> s);  // client_routes.cpp

}  // namespace fieldsync::server
