// A client that reads nothing cannot grow the server: its session is cut at the send
// queue's limit (4008) while the other clients keep receiving everything.

#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// How much the server may grow while ~100 MB of changes go to a client that reads none.
// Under AddressSanitizer (quarantine of freed memory, redzones, shadow) RSS says little about
// the program's own memory; the bound is checked by the non-sanitized builds.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::int64_t rss_budget = 1024LL * 1024 * 1024;
#else
constexpr std::int64_t rss_budget = 64LL * 1024 * 1024;
#endif

// Resident set size of a process, in bytes.
std::int64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

TEST_CASE("a client that reads nothing: server memory stays bounded, the others keep receiving",
          "[e2e][sync][backpressure]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  seed_items(dsn, 200, 2, 1, 4000);
  server_process server(dsn, live_sync_sections(db,
                                                "[websocket]\n"
                                                "send_queue_bytes = 4194304\n"
                                                "send_queue_messages = 1000\n"
                                                "handshake_timeout_ms = 2000\n"
                                                "fanout_read_changes = 200\n"));
  wait_for_collection(dsn, "items");
  const pid_t pid = server.process().pid();

  // The deaf client subscribes to everything and then never reads again.
  sync_client deaf(server.public_port(), test_token("deaf", {1, 2}));
  deaf.reconnect_on_overflow = false;
  deaf.subscribe("s", "items");
  REQUIRE(deaf.run_until([&] { return deaf.view("s").up_to_date; }, 60s));

  sync_client reader(server.public_port(), test_token("reader", {2}));
  reader.row_allowed = [](const std::string&, const json::object& row) {
    return row.at("territory_id") == 2;
  };
  reader.subscribe("s", "items");
  REQUIRE(reader.run_until([&] { return reader.view("s").up_to_date; }, 60s));
  const auto baseline = rss_bytes(pid);

  std::atomic<bool> writing{true};
  std::atomic<std::int64_t> peak{baseline};
  std::thread sampler([&] {
    while (writing) {
      peak = std::max(peak.load(), rss_bytes(pid));
      std::this_thread::sleep_for(50ms);
    }
  });
  std::thread reading(
      [&] { reader.run_until([&] { return reader.view("s").rows.contains("900000002"); }, 600s); });
  // About 100 MB of changes for the deaf client's scope.
  items_workload w;
  w.changes = 25'000;
  w.only_territories = {1, 2};
  w.payload_bytes = 4000;
  w.first_id = 10'000;
  w.delete_share = 0.05;
  run_items_workload(dsn, w, 1, 800'000'000);
  query_text(
      dsn,
      "INSERT INTO items (id, territory_id, payload) VALUES (900000002, 2, 'done') RETURNING 1");
  reading.join();
  writing = false;
  sampler.join();

  INFO("baseline " << baseline / 1024 << " KiB, peak " << peak / 1024 << " KiB");
  CHECK(peak - baseline < rss_budget);
  for (const auto& e : reader.errors()) UNSCOPED_INFO(e);
  CHECK(reader.errors().empty());
  CHECK(reader.view("s").rows.contains("900000002"));
  std::map<std::string, json::object> got = reader.view("s").rows;
  auto want = items_in(dsn, {2});
  CHECK(got.size() == want.size());

  auto metrics = http_call(server.admin_port(), http::verb::get, "/metrics").body;
  // The deaf client overflowed; the reader too if it was ever slower than the writer (it
  // then resumed from its cursor: reconnects() says how often).
  CHECK_THAT(metrics, Catch::Contains("fieldsync_ws_queue_overflows_total " +
                                      std::to_string(1 + reader.reconnects()) + "\n"));
  // The deaf client finds what was in flight, then the end of its connection.
  std::size_t drained = 0;
  while (deaf.next(30s)) ++drained;
  CHECK(deaf.closed());
  CHECK(server.terminate() == 0);
}
