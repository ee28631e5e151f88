#include "server/admin/admin_services.hpp"
#include "storage/sqlstate.hpp"
#include "server/core/logging.hpp"
#include "server/mutations/mutation_routes.hpp"
#include "server/core/time_text.hpp"
#include "server/core/version.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <chrono>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Compares in time independent of where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

// What this node's ingest reports of itself.
json::value ingest_json(const storage::ingest* ingest) {
  if (!ingest) return nullptr;
  const auto s = ingest->status();
  return json::object{
      {"phase", s.phase},
      {"leader", s.leader},
      {"leader_since", s.leader ? json::value(iso_time(s.leader_since)) : json::value(nullptr)},
      {"epoch", s.epoch},
      {"confirmed_lsn", s.resume.to_string()},
      {"high_lsn", s.high.to_string()},
      {"transactions", s.transactions},
      {"changes", s.changes},
      {"changes_per_second", s.changes_per_second},
      {"restarts", s.restarts},
      {"epochs_started", s.epochs_started},
      {"last_error", s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error)},
      {"last_error_at", s.last_error.empty() ? json::value(nullptr) : json::value(iso_time(s.last_error_at))},
  };
}

// The slot as the source database sees it: lag and retained WAL in bytes.
// lag_seconds is PostgreSQL's own measure (pg_stat_replication.flush_lag of the slot's
// walsender: how long WAL waited for the ingest to confirm it; 0 when it reports none,
// which it does once caught up); null when no walsender is attached or the role may not
// see it (pg_read_all_stats).
asio::awaitable<json::value> slot_json(const admin_services& s) {
  auto r = co_await s.source_pool->async_query(
      "SELECT pg_current_wal_lsn()::text, s.active, s.active_pid, s.wal_status, "
      "s.confirmed_flush_lsn::text, s.restart_lsn::text, "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint, "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint, "
      "CASE WHEN r.pid IS NOT NULL AND r.state IS NOT NULL "
      "THEN coalesce(extract(epoch FROM r.flush_lag), 0)::float8 END "
      "FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1 "
      "LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid",
      storage::pg_params(s.slot));
  if (!r) co_return json::object{{"error", r.error().to_string()}};
  auto opt = [&](int col) -> json::value {
    if (r->is_null(0, col)) return nullptr;
    return json::value(std::string(r->value(0, col)));
  };
  auto num = [&](int col) -> json::value {
    if (r->is_null(0, col)) return nullptr;
    return json::value(std::stoll(std::string(r->value(0, col))));
  };
  co_return json::object{
      {"name", s.slot},
      {"exists", !r->is_null(0, 1)},
      {"active", r->is_null(0, 1) ? json::value(nullptr) : json::value(r->value(0, 1) == "t")},
      {"active_pid", num(2)},
      {"wal_status", opt(3)},
      {"current_wal_lsn", opt(0)},
      {"confirmed_flush_lsn", opt(4)},
      {"restart_lsn", opt(5)},
      {"lag_bytes", num(6)},
      {"retained_wal_bytes", num(7)},
      {"lag_seconds", r->is_null(0, 8) ? json::value(nullptr)
                                       : json::value(std::stod(std::string(r->value(0, 8))))},
  };
}

// The change log as stored: shared by every node.
asio::awaitable<json::value> log_json(const admin_services& s) {
  auto r = co_await s.storage_pool->async_query(
      "SELECT epoch, resume_lsn::text, high_lsn::text, horizon_lsn::text, updated_at::text "
      "FROM fieldsync.state");
  if (!r) {
    // 42P01: no log yet (the ingest has not run its migrations).
    if (r.error().sqlstate == storage::sqlstate::undefined_table) co_return nullptr;
    co_return json::object{{"error", r.error().to_string()}};
  }
  if (r->rows() == 0) co_return nullptr;
  co_return json::object{
      {"epoch", std::stoll(std::string(r->value(0, 0)))},
      {"resume_lsn", std::string(r->value(0, 1))},
      {"high_lsn", std::string(r->value(0, 2))},
      {"horizon_lsn", std::string(r->value(0, 3))},
      {"updated_at", std::string(r->value(0, 4))},
  };
}

namespace {

// Each collection's copy in the log, as every node sees it: loaded (with the format and
// position of its copy), being copied, or failed with the reason.
asio::awaitable<json::value> collections_json(const admin_services& s) {
  auto r = co_await s.storage_pool->async_query(
      "SELECT c.name, c.relation, c.loaded_lsn::text, c.format, c.failure, "
      "c.epoch = s.epoch FROM fieldsync.collections c CROSS JOIN fieldsync.state s "
      "ORDER BY c.name");
  if (!r) {
    if (r.error().sqlstate == storage::sqlstate::undefined_table) co_return nullptr;
    co_return json::object{{"error", r.error().to_string()}};
  }
  json::array out;
  for (int i = 0; i < r->rows(); ++i) {
    json::object c{{"name", std::string(r->value(i, 0))},
                   {"table", std::string(r->value(i, 1))},
                   {"format", std::stoll(std::string(r->value(i, 3)))}};
    if (!r->is_null(i, 4)) {
      c["state"] = "failed";
      c["failure"] = std::string(r->value(i, 4));
    } else if (r->value(i, 5) != "t") {
      c["state"] = "loading";
    } else {
      c["state"] = "loaded";
      c["loaded_lsn"] = std::string(r->value(i, 2));
    }
    out.push_back(std::move(c));
  }
  co_return out;
}

}  // namespace

std::optional<http_response> check_admin(const request_context& ctx, const admin_services& s) {
  const auto& token = s.admin_token;
  if (token.empty()) {
    return error_response(ctx.request, http::status::forbidden, "admin_disabled",
                          "set server.admin_token to use the admin API");
  }
  std::string_view auth = ctx.request[http::field::authorization];
  constexpr std::string_view prefix = "Bearer ";
  if (!auth.starts_with(prefix) || !same_secret(auth.substr(prefix.size()), token)) {
    auto res = error_response(ctx.request, http::status::unauthorized, "unauthorized",
                              "the admin API needs Authorization: Bearer <admin token>");
    res.set(http::field::www_authenticate, "Bearer realm=\"fieldsync-admin\"");
    return res;
  }
  return std::nullopt;
}

void add_admin_routes(router& r, std::shared_ptr<const admin_services> s) {
  add_metrics_route(r, s);
  add_client_routes(r, s);
  add_cluster_routes(r, s);

  r.add(http::verb::get, "/healthz", [](request_context& ctx) -> asio::awaitable<http_response> {
    co_return json_response(ctx.request, http::status::ok,
                            {{"status", "ok"}, {"version", version()}});
  });

  // Readiness: this node can serve, which needs its database, and is not draining.
  r.add(http::verb::get, "/readyz", [s](request_context& ctx) -> asio::awaitable<http_response> {
    if (s->draining && s->draining()) {
      co_return error_response(ctx.request, http::status::service_unavailable, "draining",
                               "this node is shutting down: its connections move to other nodes");
    }
    auto res = co_await s->source_pool->async_query("SELECT 1");
    if (!res) {
      auto out = error_response(ctx.request, http::status::service_unavailable,
                                "database_unavailable", res.error().to_string());
      out.set(http::field::retry_after, "5");
      co_return out;
    }
    co_return json_response(ctx.request, http::status::ok, {{"status", "ready"}});
  });

  r.add(http::verb::get, "/admin/v1/status", [s](request_context& ctx) -> asio::awaitable<http_response> {
    if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now() - s->started_at);
    json::object body{
        {"version", version()},
        {"uptime_seconds", uptime.count()},
        {"connections",
         {{"http", s->connections.count("http")},
          {"websocket", s->connections.count("websocket")}}},
        {"database_pool",
         {{"open", s->source_pool->open_connections()},
          {"idle", s->source_pool->idle_connections()},
          {"waiters", s->source_pool->waiters()}}},
    };
    // Awaited apart from the braces: GCC 12 mishandles co_await inside an initialiser list.
    auto slot = co_await slot_json(*s);
    auto log = co_await log_json(*s);
    auto collections = co_await collections_json(*s);
    json::object replication;
    replication["ingest"] = ingest_json(s->ingest());
    replication["slot"] = std::move(slot);
    replication["log"] = std::move(log);
    replication["collections"] = std::move(collections);
    body["replication"] = std::move(replication);
    co_return json_response(ctx.request, http::status::ok, body);
  });

  r.add(http::verb::get, "/admin/v1/conflicts", [s](request_context& ctx) -> asio::awaitable<http_response> {
    if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
    co_return co_await list_conflicts(ctx, s->mutations);
  });

  r.add(http::verb::put, "/admin/v1/log-level", [s](request_context& ctx) -> asio::awaitable<http_response> {
    if (auto denied = check_admin(ctx, *s)) co_return std::move(*denied);
    boost::system::error_code ec;
    auto body = json::parse(ctx.request.body(), ec);
    const json::value* level = (!ec && body.is_object()) ? body.as_object().if_contains("level") : nullptr;
    if (!level || !level->is_string() || !set_log_level(std::string_view(level->get_string()))) {
      co_return error_response(ctx.request, http::status::bad_request, "bad_level",
                               "expected {\"level\": \"trace|debug|info|warn|error|critical|off\"}");
    }
    spdlog::info("log level set to {}", std::string_view(level->get_string()));
    co_return json_response(ctx.request, http::status::ok, {{"level", *level}});
  });
}

}  // namespace fieldsync::server
