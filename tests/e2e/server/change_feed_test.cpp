// The change feed of the real binary: kill -9 at random moments under load, a second node
// taking over from a killed leader, and the replication status on the admin API.

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <random>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

std::string feed_sections(const fresh_database& db, bool ingest = true) {
  return "[replication]\n"
         "slot = \"fs_" + db.name() + "\"\n"
         "publication = \"fs_" + db.name() + "\"\n"
         "ingest = " + (ingest ? "true" : "false") + "\n"
         "heartbeat_interval_ms = 500\n"
         "reconnect_min_ms = 50\n"
         "reconnect_max_ms = 1000\n"
         "leader_retry_ms = 200\n"
         "max_transaction_bytes = 1048576\n\n" +
         feed_collections_toml();
}

std::string stored_high(const std::string& dsn) {
  try {
    return query_value(dsn, "SELECT high_lsn::text FROM fieldsync.state");
  } catch (const std::exception&) {
    return {};  // no log yet
  }
}

boost::json::value admin_status(const server_process& s) {
  auto r = http_call(s.admin_port(), http::verb::get, "/admin/v1/status", {},
                     {{"Authorization", std::string("Bearer ") + test_admin_token}});
  REQUIRE(r.status == 200);
  return r.json();
}

}  // namespace

TEST_CASE("kill -9 at random moments under load, five times: nothing lost, nothing doubled",
          "[e2e][feed][fault]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  const auto sections = feed_sections(db);
  std::atomic<bool> stop{false};
  workload_options w;
  w.changes = 10'000'000;  // until stopped: every kill lands under load
  w.writers = 3;
  w.big_transaction_rows = 4'000;
  std::thread writers;

  std::mt19937 rng(20261125);
  for (int kill = 0; kill < 5; ++kill) {
    server_process server(dsn, sections);
    if (kill == 0) {
      wait_for_log(dsn);  // copied and streaming: from here on every write goes through the log
      exec_sql(dsn, "TRUNCATE feed_audit");  // the marker is in the copy, not among the changes
      writers = std::thread([&] { run_feed_workload(dsn, w, &stop); });
    }
    // Let it ingest something, then kill it somewhere in the middle of its work.
    auto before = stored_high(dsn);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (stored_high(dsn) == before && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1500)(rng)));
    server.process().signal(SIGKILL);
    REQUIRE(server.process().wait_exit(10s) == 128 + SIGKILL);
  }
  stop = true;
  writers.join();
  server_process last(dsn, sections);
  wait_for_log(dsn);
  check_feed(dsn);
  CHECK(last.terminate() == 0);
}

TEST_CASE("a second node takes over ingest when the leader is killed", "[e2e][feed][fault]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  const auto sections = feed_sections(db);
  auto leader = std::make_unique<server_process>(dsn, sections);
  wait_for_log(dsn);
  exec_sql(dsn, "TRUNCATE feed_audit");  // the marker is in the copy, not among the changes
  server_process standby(dsn, sections);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (admin_status(standby).at("replication").at("ingest").at("phase") != "waiting") {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(20ms);
  }
  CHECK(admin_status(standby).at("replication").at("ingest").at("leader") == false);
  CHECK(admin_status(*leader).at("replication").at("ingest").at("leader") == true);

  workload_options w;
  w.changes = 20'000;
  w.writers = 2;
  auto before = stored_high(dsn);
  std::thread writers([&] { run_feed_workload(dsn, w); });
  while (stored_high(dsn) == before) std::this_thread::sleep_for(20ms);  // mid-load
  leader->process().signal(SIGKILL);
  REQUIRE(leader->process().wait_exit(10s) == 128 + SIGKILL);
  leader.reset();
  writers.join();
  wait_for_log(dsn);
  check_feed(dsn);
  auto now = admin_status(standby).at("replication");
  CHECK(now.at("ingest").at("leader") == true);
  CHECK(now.at("slot").at("active") == true);
  CHECK(standby.terminate() == 0);
}

TEST_CASE("/admin/v1/status reports the slot, the log and the ingest", "[e2e][feed]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_feed_schema(dsn);
  server_process server(dsn, feed_sections(db));
  wait_for_log(dsn);
  // The log is loaded a moment before the ingest reports that it streams.
  auto status = admin_status(server).at("replication").as_object();
  for (int i = 0; i < 300 && status.at("ingest").at("phase") != "streaming"; ++i) {
    std::this_thread::sleep_for(100ms);
    status = admin_status(server).at("replication").as_object();
  }
  const auto& ingest = status.at("ingest");
  CHECK(ingest.at("phase") == "streaming");
  CHECK(ingest.at("leader") == true);
  CHECK(ingest.at("last_error").is_null());
  const auto& slot = status.at("slot");
  CHECK(slot.at("exists") == true);
  CHECK(slot.at("wal_status") == "reserved");
  CHECK(slot.at("lag_bytes").is_int64());
  CHECK(slot.at("retained_wal_bytes").is_int64());
  const auto& log = status.at("log");
  CHECK(log.at("epoch") == ingest.at("epoch"));
  CHECK(server.terminate() == 0);
}
