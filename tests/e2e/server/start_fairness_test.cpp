// Subscription starts share a few slots (each holds a storage connection): one user's many
// stalled starts must not hold up another user's subscribe, a stalled reader gives its slot
// back after websocket.start_stall_timeout_ms, unsubscribing takes a waiting start out of
// the queue, and the queue is bounded.

#include "tests/support/http_client.hpp"
#include "tests/support/metric_value.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// Territory 1 holds a snapshot far larger than a socket's buffers (a client that reads
// nothing stalls in it); territory 2 a small one.
void big_and_small(const std::string& dsn) {
  create_items_schema(dsn);
  // Hex digests, not repeated characters: the snapshot must stay large if compressed.
  query_text(
      dsn,
      "INSERT INTO items (id, territory_id, payload) SELECT g, 1, "
      "(SELECT string_agg(md5(g::text || '-' || i::text), '') FROM generate_series(1, 60) i) "
      "FROM generate_series(1, 12000) g RETURNING 1");
  seed_items(dsn, 20, 1, 1'000'000, 24);
  query_text(dsn, "UPDATE items SET territory_id = 2 WHERE id >= 1000000 RETURNING 1");
}

// One slot (pool_size 2: half of it starts subscriptions).
std::map<std::string, std::string> one_slot(const std::string& stall_ms) {
  return {{"FIELDSYNC_DATABASE_POOL_SIZE", "2"},
          {"FIELDSYNC_WEBSOCKET_START_STALL_TIMEOUT_MS", stall_ms},
          {"FIELDSYNC_WEBSOCKET_SEND_QUEUE_BYTES", "1048576"}};
}

}  // namespace

TEST_CASE("subscription starts: one user's stalled starts do not hold up another user",
          "[e2e][sync][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  big_and_small(dsn);
  server_process server(dsn, live_sync_sections(db), one_slot("1000"));
  wait_for_collection(dsn, "items");

  // Ten sessions of one user subscribe to the big snapshot and never read it: each start
  // stalls in turn. Served first come, the other user would wait behind all ten.
  std::vector<std::unique_ptr<sync_client>> hogs;
  for (int i = 0; i < 10; ++i) {
    hogs.push_back(std::make_unique<sync_client>(server.public_port(), test_token("hog", {1}),
                                                 "hog-" + std::to_string(i)));
    hogs.back()->reconnect_on_overflow = false;
    hogs.back()->subscribe("big", "items");
  }
  std::this_thread::sleep_for(300ms);
  sync_client rep(server.public_port(), test_token("rep", {2}), "rep");
  rep.subscribe("small", "items");
  CHECK(rep.run_until([&] { return rep.view("small").up_to_date; }, 20s));
  CHECK(rep.view("small").rows.size() == 20);
  CHECK(rep.errors().empty());
  CHECK(server.terminate() == 0);
}

TEST_CASE("subscription starts: unsubscribing leaves the queue, and the queue is bounded",
          "[e2e][sync][hardening]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  big_and_small(dsn);
  auto env = one_slot("600000");
  env["FIELDSYNC_WEBSOCKET_MAX_QUEUED_STARTS"] = "5";
  server_process server(dsn, live_sync_sections(db), env);
  wait_for_collection(dsn, "items");
  const auto admin = server.admin_port();

  // The only slot is held by a reader that reads nothing (and has ten minutes to).
  sync_client hog(server.public_port(), test_token("hog", {1}), "hog");
  hog.reconnect_on_overflow = false;
  hog.subscribe("big", "items");
  std::this_thread::sleep_for(1s);

  ws_client ws(server.public_port());
  ws.send(json::serialize(json::object{{"type", "hello"},
                                       {"token", test_token("rep", {2})},
                                       {"client_id", "rep"},
                                       {"protocol", 1}}));
  auto welcome = ws.receive();
  REQUIRE(welcome);
  REQUIRE(welcome->find("welcome") != std::string::npos);
  auto wait_for = [&](const std::string& type, const std::string& id) {
    for (;;) {
      auto m = ws.receive(30s);
      REQUIRE(m);
      if (m->find("\"type\":\"" + type + "\"") != std::string::npos &&
          m->find("\"id\":\"" + id + "\"") != std::string::npos) {
        return *m;
      }
    }
  };
  // Subscribe and unsubscribe, many times: nothing stays queued.
  for (int i = 0; i < 1000; ++i) {
    auto id = "s" + std::to_string(i);
    ws.send(
        json::serialize(json::object{{"type", "subscribe"}, {"id", id}, {"collection", "items"}}));
    ws.send(json::serialize(json::object{{"type", "unsubscribe"}, {"id", id}}));
    wait_for("unsubscribed", id);
  }
  CHECK(metric_value(admin, "fieldsync_subscription_starts_queued") == 0);

  // Five may wait; the sixth and later are refused with the retryable "unavailable".
  for (int i = 0; i < 8; ++i) {
    ws.send(json::serialize(json::object{
        {"type", "subscribe"}, {"id", "q" + std::to_string(i)}, {"collection", "items"}}));
  }
  for (int i = 5; i < 8; ++i) {
    auto m = wait_for("error", "q" + std::to_string(i));
    CHECK(m.find("\"code\":\"unavailable\"") != std::string::npos);
  }
  CHECK(metric_value(admin, "fieldsync_subscription_starts_queued") == 5);
  ws.close();
  // Closing the session ends its waiting starts too.
  for (int i = 0; i < 100 && metric_value(admin, "fieldsync_subscription_starts_queued") != 0;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(metric_value(admin, "fieldsync_subscription_starts_queued") == 0);
  CHECK(server.terminate() == 0);
}
