// GET /admin/v1/cluster: every node of the cluster as its heartbeat row says
// (fieldsync.nodes, node_heartbeat.hpp), which one ingests, and the replication as the
// source database sees it (docs/protocol.md, "Cluster"). Any node answers the same, apart
// from "node" (the one asked). Ages are measured by the storage database's clock, the one
// that stamped the heartbeats, so the nodes' clocks do not matter.

#include "server/admin/admin_services.hpp"
#include "server/admin/cluster_view.hpp"
#include "server/core/time_text.hpp"
#include "storage/sqlstate.hpp"

#include <boost/json/parse.hpp>

#include <charconv>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::int64_t int_of(std::string_view text) {
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::string time_of_micros(std::string_view text) {
  return iso_time(std::chrono::system_clock::time_point(std::chrono::microseconds(int_of(text))));
}

asio::awaitable<http_response> describe_cluster(request_context& ctx,
                                                std::shared_ptr<const admin_services> s) {
  // greatest(0, ...): a beat committed after this statement began may be stamped after now().
  auto rows = co_await s->storage_pool->async_query(
      "SELECT id, name, version, admin_listen, "
      "(extract(epoch FROM started_at) * 1000000)::bigint, "
      "(extract(epoch FROM heartbeat_at) * 1000000)::bigint, "
      "greatest(0, extract(epoch FROM now() - heartbeat_at) * 1000)::bigint, interval_ms, "
      "http_connections, ws_connections, ingest, leader, ingest_status::text, "
      "jsonb_array_length(coalesce(clients, '[]')) "
      "FROM fieldsync.nodes ORDER BY name, id");
  if (!rows) {
    if (rows.error().sqlstate == storage::sqlstate::undefined_table) {
      co_return error_response(ctx.request, http::status::service_unavailable, "not_ready",
                               "the storage schema does not exist yet (the ingest leader "
                               "creates it)");
    }
    co_return error_response(ctx.request, http::status::service_unavailable, "database_unavailable",
                             rows.error().to_string());
  }
  json::array nodes;
  json::value leader = nullptr;
  std::int64_t alive = 0;
  for (int i = 0; i < rows->rows(); ++i) {
    const auto age = std::chrono::milliseconds(int_of(rows->value(i, 6)));
    const auto interval = std::chrono::milliseconds(int_of(rows->value(i, 7)));
    const bool down = node_is_down(age, interval);
    const bool leads = rows->value(i, 11) == "t";
    json::value ingest = nullptr;
    if (auto text = rows->get(i, 12)) {
      boost::system::error_code ec;
      ingest = json::parse(*text, ec);
      if (ec) ingest = nullptr;
    }
    json::object node{
        {"id", std::string(rows->value(i, 0))},
        {"name", std::string(rows->value(i, 1))},
        {"state", down ? "down" : "alive"},
        {"this_node", rows->value(i, 0) == s->node.id},
        {"version", std::string(rows->value(i, 2))},
        {"admin_listen", std::string(rows->value(i, 3))},
        {"started_at", time_of_micros(rows->value(i, 4))},
        {"heartbeat_at", time_of_micros(rows->value(i, 5))},
        {"heartbeat_age_seconds", static_cast<double>(age.count()) / 1000.0},
        {"heartbeat_interval_ms", interval.count()},
        {"connections",
         {{"http", int_of(rows->value(i, 8))}, {"websocket", int_of(rows->value(i, 9))}}},
        {"published_clients", int_of(rows->value(i, 13))},
        {"ingests", rows->value(i, 10) == "t"},
        {"leader", leads && !down},
        {"ingest", std::move(ingest)},
    };
    if (!down) ++alive;
    // A node killed while leading keeps leader = true in its row: only a live one leads.
    if (leads && !down && leader.is_null()) {
      leader = json::object{{"id", node.at("id")}, {"name", node.at("name")}};
    }
    nodes.push_back(std::move(node));
  }
  auto slot = co_await slot_json(*s);
  auto log = co_await log_json(*s);
  json::object replication;
  for (const char* key : {"lag_bytes", "lag_seconds", "retained_wal_bytes"}) {
    const auto* o = slot.if_object();
    const auto* v = o ? o->if_contains(key) : nullptr;
    replication[key] = v ? *v : json::value(nullptr);
  }
  replication["slot"] = std::move(slot);
  replication["log"] = std::move(log);
  json::object body{
      {"node", {{"id", s->node.id}, {"name", s->node.name}}},
      {"alive", alive},
      {"leader", std::move(leader)},
      {"nodes", std::move(nodes)},
      {"replication", std::move(replication)},
  };
  co_return json_response(ctx.request, http::status::ok, body);
}

}  // namespace

void add_cluster_routes(router& r, std::shared_ptr<const admin_services> s) {
  r.add(http::verb::get, "/admin/v1/cluster",
        [s](request_context& ctx) -> asio::awaitable<http_response> {
          if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
          co_return co_await describe_cluster(ctx, s);
        });
}

}  // namespace fieldsync::server
