#include "server/app/dev_command.hpp"

#include "server/app/app.hpp"
#include "server/access/demo_tokens.hpp"
#include "server/core/spawn_logged.hpp"
#include "server/core/version.hpp"
#include "storage/dev/demo_data.hpp"
#include "storage/dev/demo_insights.hpp"
#include "storage/dev/dev_cluster.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sys/stat.h>
#include <vector>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr std::chrono::seconds demo_token_ttl{24 * 3600};

std::string json_text(const boost::json::object& o) {
  return boost::json::serialize(o);
}

// A secret kept in the data directory, so URLs and tokens printed once stay valid across
// restarts of the same demo. Readable by its owner only.
std::string persistent_secret(const fs::path& file) {
  std::ifstream in(file);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  secret.clear();
  for (int i = 0; i < 48; ++i) secret.push_back(hex[rd() % 16]);
  std::ofstream out(file, std::ios::trunc);
  out << secret << "\n";
  if (!out) throw startup_error("cannot write " + file.string());
  ::chmod(file.c_str(), 0600);
  return secret;
}

std::string url(const asio::ip::tcp::endpoint& ep) {
  auto host = ep.address().is_unspecified() ? std::string("127.0.0.1") : ep.address().to_string();
  return "http://" + host + ":" + std::to_string(ep.port());
}

// The demo's ETL job: moves this month's KPI figures now and then, so live data moves.
asio::awaitable<void> run_kpi_etl(app& a, std::int64_t seed, std::chrono::milliseconds every,
                                  std::shared_ptr<asio::steady_timer> timer) {
  for (std::uint64_t tick = 1;; ++tick) {
    timer->expires_after(every);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled at shutdown
    auto conn = co_await a.pool().async_acquire();
    if (!conn) {
      spdlog::warn("demo ETL: {}", conn.error().to_string());
      continue;
    }
    auto changed = co_await storage::async_run_kpi_etl_tick(**conn, static_cast<std::uint64_t>(seed), tick);
    if (!changed) spdlog::warn("demo ETL: {}", changed.error().to_string());
    else spdlog::debug("demo ETL tick {}: {} KPI rows updated", tick, *changed);
  }
}

// The demo's insights job (storage/demo_insights.hpp): recomputes the findings now and
// then, so a visit logged anywhere clears its "not visited" insight on every screen.
asio::awaitable<void> run_insights_job(app& a, std::chrono::milliseconds every,
                                       std::shared_ptr<asio::steady_timer> timer) {
  for (;;) {
    timer->expires_after(every);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled at shutdown
    auto conn = co_await a.pool().async_acquire();
    if (!conn) {
      spdlog::warn("demo insights: {}", conn.error().to_string());
      continue;
    }
    auto refreshed = co_await storage::async_refresh_insights(**conn);
    if (!refreshed) spdlog::warn("demo insights: {}", refreshed.error().to_string());
    else if (refreshed->written || refreshed->removed) {
      spdlog::debug("demo insights: {} written, {} removed", refreshed->written, refreshed->removed);
    }
  }
}

// The built PWA (clients/web/app/dist, `npm run build:app`) when server.static_dir is not
// set: next to the working directory (scripts/dev runs from the repository), next to a
// build tree's binary (build/<dir>/server/fieldsync), or an installed share directory.
std::optional<fs::path> find_built_app() {
  std::vector<fs::path> candidates{fs::current_path() / "clients/web/app/dist"};
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../../../clients/web/app/dist");
    candidates.push_back(exe.parent_path() / "../share/fieldsync/app");
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c / "index.html", ec)) return fs::weakly_canonical(c, ec);
  }
  return std::nullopt;
}

}  // namespace

config dev_defaults() {
  config c;
  c.server.listen = "127.0.0.1:8080";
  c.server.admin_listen = "127.0.0.1:9090";
  // A PWA under development is served by its own dev server on another port.
  c.websocket.allowed_origins = {"http://localhost:*", "http://127.0.0.1:*"};
  // The demo tables (config/demo_schema.sql), as config/fieldsync.toml declares them.
  // Claims of the demo's tokens: rep_id, territories (a rep: its own; a manager: its
  // region's), reps (a manager: its region's reps), role, region.
  const std::string territory = "territory_id = ANY($claims.territories)";
  c.collections = {
      {"territories",
       "territories",
       {"id"},
       {},
       "id = ANY($claims.territories)",
       "",
       false,
       {},
       {},
       {}},
      {"reps", "reps", {"id"}, {}, territory, "", false, {}, {}, {}},
      {"accounts", "accounts", {"id"}, {}, territory, territory, false, {}, {}, {}},
      {"visits", "visits", {"id"}, {}, territory, territory, false, {}, {}, {}},
      {"opportunities", "opportunities", {"id"}, {}, territory, territory, false, {}, {}, {}},
      {"kpis",
       "kpis",
       {"rep_id", "month"},
       {},
       "rep_id = $claims.rep_id OR rep_id = ANY($claims.reps)",
       "rep_id = $claims.rep_id",
       false,
       {},
       {},
       {}},
      // Written by the insights job only: no write scope. A region's summaries (no
      // territory) are for its manager.
      {"insights",
       "insights",
       {"id"},
       {},
       territory +
           " OR (territory_id IS NULL AND region = $claims.region AND $claims.role = 'manager')",
       "",
       false,
       {},
       {},
       {}},
  };
  // How concurrent edits merge where a sales team would want it (docs/merge.md, "How the
  // demo uses them"); config/fieldsync.toml says the same.
  for (auto& col : c.collections) {
    if (col.name == "accounts") {
      col.merge.fields = {{"tags", "set-union"}};  // a manager's "kol" and a rep's "digital" both stay
    } else if (col.name == "visits") {
      col.merge.fields = {{"notes", "reject"}, {"next_steps", "reject"},
                          {"products_discussed", "set-union"}};
    } else if (col.name == "kpis") {
      col.merge.insert_existing = "merge-as-update";  // a device may create this month's row offline
      col.merge.fields = {{"calls_planned", "counter"}, {"calls_done", "counter"},
                          {"samples_given", "counter"}, {"new_accounts", "counter"},
                          {"revenue", "counter"}};
    }
    // opportunities: stage, amount and the MEDDPICC fields are last-writer-wins (the default).
  }
  // Which columns a device may set, and which the server sets (docs/config.md): a visit is
  // the token's rep's, and no device backdates updated_at. config/fieldsync.toml says the same.
  for (auto& col : c.collections) {
    if (col.name == "accounts") {
      col.writable_columns = {"tags", "phone"};
      col.server_set = {{"updated_at", "now()"}};
    } else if (col.name == "visits") {
      col.writable_columns = {"account_id",         "territory_id", "visited_at", "channel",
                              "products_discussed", "samples_left", "notes",      "next_steps"};
      col.server_set = {{"rep_id", "$claims.rep_id"}, {"updated_at", "now()"}};
    } else if (col.name == "opportunities") {
      col.writable_columns = {"name",
                              "stage",
                              "amount",
                              "close_date",
                              "metrics",
                              "economic_buyer",
                              "decision_criteria",
                              "decision_process",
                              "paper_process",
                              "identify_pain",
                              "champion",
                              "competition"};
      col.server_set = {{"updated_at", "now()"}};
    } else if (col.name == "kpis") {
      col.writable_columns = {"calls_planned", "calls_done", "samples_given", "new_accounts",
                              "revenue"};
      col.server_set = {{"updated_at", "now()"}};
    }
  }
  return c;
}

int dev_command(config cfg, const dev_options& opts) {
  std::error_code ec;
  fs::create_directories(opts.data_dir, ec);
  if (ec) throw startup_error("cannot create " + opts.data_dir.string() + ": " + ec.message());
  fs::path data_dir = fs::canonical(opts.data_dir);

  spdlog::info("fieldsync {} dev: PostgreSQL cluster in {}", version(), (data_dir / "pg").string());
  storage::dev_cluster_options cluster_opts;
  cluster_opts.data_dir = data_dir;
  storage::dev_cluster cluster(cluster_opts);
  try {
    cluster.start();
  } catch (const storage::dev_cluster_error& e) {
    throw startup_error(e.what());
  }
  spdlog::info("PostgreSQL {} on port {} ({})",
               cluster.created_now() ? "initialised and started"
                                     : (cluster.reused_running() ? "already running" : "started"),
               cluster.port(), cluster.log_file().string());

  cfg.database.dsn = cluster.conninfo();
  if (cfg.server.static_dir.empty()) {
    if (auto built = find_built_app()) cfg.server.static_dir = built->string();
  }
  if (cfg.server.admin_token.empty()) {
    cfg.server.admin_token = persistent_secret(data_dir / "admin_token");
  }
  if (cfg.auth.keys.empty()) {
    // The demo's tokens are signed with a secret kept in the data directory.
    cfg.auth.keys.push_back({"dev", "HS256", persistent_secret(data_dir / "jwt_secret"), ""});
  }

  std::string demo_summary;
  std::vector<std::pair<std::string, std::string>> demo_tokens;  // label, token
  auto on_start = [&](app& a) -> asio::awaitable<void> {
    auto conn = co_await a.pool().async_acquire();
    if (!conn) throw startup_error("demo data: " + conn.error().to_string());
    storage::demo_options demo;
    demo.seed = static_cast<std::uint64_t>(cfg.dev.demo_seed);
    demo.scale = cfg.dev.demo_scale;
    auto started = std::chrono::steady_clock::now();
    if (!co_await storage::async_demo_loaded(**conn)) {
      spdlog::info("loading the demo data (seed {}, scale {}); this takes a little while",
                   demo.seed, demo.scale);
    }
    auto report = co_await storage::async_load_demo(**conn, demo);
    if (!report) throw startup_error("loading the demo data: " + report.error().to_string());
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    demo_summary = report->reused ? "reused (already loaded)"
                                  : fmt::format("loaded in {:.1f} s", secs);
    spdlog::info("demo data {}: {}", demo_summary, report->summary());
    auto upgraded = co_await storage::async_upgrade_demo_schema(**conn);
    if (!upgraded) throw startup_error("upgrading the demo schema: " + upgraded.error().to_string());
    if (*upgraded) spdlog::info("demo data: added the insights table and the plan columns");
    auto insights = co_await storage::async_refresh_insights(**conn);
    if (!insights) throw startup_error("demo insights: " + insights.error().to_string());
    spdlog::info("demo insights: {} written, {} removed", insights->written, insights->removed);

    // Demo tokens are a convenience: without a single HS256 key to sign them (a config
    // with RS256 keys only, or several HS256 ones) the demo runs without them.
    auto identities = co_await async_demo_identities(**conn);
    if (!identities) throw startup_error("demo tokens: " + identities.error().to_string());
    try {
      const auto key = minting_key(cfg.auth, "");
      for (auto& who : *identities) {
        auto claims = json_text(who.claims);
        demo_tokens.emplace_back(who.label + " " + claims,
                                 mint_token(key, cfg.auth, std::move(who.claims), demo_token_ttl));
      }
    } catch (const config_error& e) {
      spdlog::warn("no demo tokens: {}", e.what());
    }

    if (cfg.dev.etl_interval.count() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(a.io());
      a.on_shutdown([timer] { timer->cancel(); });
      spawn_logged(a.io(),
                   run_kpi_etl(a, cfg.dev.demo_seed,
                               cfg.dev.etl_interval, timer),
                   "demo ETL");
    }
    if (cfg.dev.insights_interval.count() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(a.io());
      a.on_shutdown([timer] { timer->cancel(); });
      spawn_logged(a.io(), run_insights_job(a, cfg.dev.insights_interval, timer), "demo insights");
    }
  };

  auto on_ready = [&](app& a) {
    const auto base = url(a.public_endpoint());
    std::cout << "\nfieldsync " << version() << " dev is running\n"
              << "  public     " << base << "   (GET /healthz, WebSocket /v1/ws)\n"
              << "  admin      " << url(a.admin_endpoint()) << "   (Authorization: Bearer "
              << a.cfg().server.admin_token << ")\n"
              << "  status     curl -H 'Authorization: Bearer " << a.cfg().server.admin_token
              << "' " << url(a.admin_endpoint()) << "/admin/v1/status\n"
              << "  postgres   psql \"" << cluster.conninfo() << "\"\n"
              << "  pg (tcp)   127.0.0.1:" << cluster.port() << " with the password: psql \"$(cat "
              << cluster.conninfo_file().string() << ")\"\n"
              << "  demo data  " << demo_summary << "\n"
              << "  data dir   " << data_dir.string() << "\n";
    for (const auto& [label, token] : demo_tokens) {
      std::cout << "  token      " << label << " (24 h)\n             " << token << "\n";
    }
    std::cout << "  more       fieldsync token --data-dir " << data_dir.string()
              << " '{\"sub\":\"rep-7\",\"rep_id\":7,\"territories\":[1],\"role\":\"rep\"}'\n";
    const auto& app_dir = a.cfg().server.static_dir;
    if (app_dir.empty()) {
      std::cout << "  app        not built: scripts/dev builds it (clients/web: npm ci && npm run "
                   "build:app), or set server.static_dir\n";
    } else {
      // The token travels in the fragment: never sent to the server, never in a log.
      std::cout << "  app        " << base << "/   (" << app_dir << ")\n";
      for (const auto& [label, token] : demo_tokens) {
        const auto who = label.substr(0, label.find(' '));
        std::cout << "  sign in    as the " << who << ": " << base << "/#token=" << token << "\n";
      }
    }
    std::cout << "Ctrl-C stops the server, then the database.\n";
    if (!app_dir.empty()) {
      std::cout << "\nOpen " << base << "/" << (demo_tokens.empty() ? "" : "#token=" + demo_tokens.front().second)
                << "\n";
    }
    std::cout << std::endl;
  };

  try {
    app a(cfg);
    a.run(on_start, on_ready);
  } catch (...) {
    // The cluster is ours to stop whatever happened to the server.
    try {
      cluster.stop();
    } catch (const std::exception& e) {
      spdlog::error("stopping PostgreSQL: {}", e.what());
    }
    throw;
  }
  spdlog::info("server stopped; stopping PostgreSQL");
  try {
    cluster.stop();
  } catch (const storage::dev_cluster_error& e) {
    throw startup_error(e.what());
  }
  spdlog::info("PostgreSQL stopped");
  return 0;
}

}  // namespace fieldsync::server
