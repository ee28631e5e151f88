// A collection that cannot be copied next to ones that can: the others load and flow live,
// the failed one is refused clearly on every path (pulls, the Shape API, subscriptions),
// and the failure is loud: the admin status names it with the reason, a metric counts it,
// and the server's log has an error line naming the table. No retry loop holds anything up.

#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// A login role of the test's own, dropped after the test's database is gone.
class test_role {
 public:
  explicit test_role(std::string name) : name_(std::move(name)) {
    auto c = pg_connect(maintenance_conninfo());
    pg_exec(c.get(), "CREATE ROLE \"" + name_ + "\" LOGIN REPLICATION");
  }
  ~test_role() {
    try {
      auto c = pg_connect(maintenance_conninfo());
      pg_exec(c.get(), "DROP ROLE IF EXISTS \"" + name_ + "\"");
    } catch (...) {
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("a collection that cannot be copied fails alone and loudly", "[e2e][load]") {
  test_role role("fs_role_" + std::to_string(::getpid()));
  fresh_database db;
  const auto dsn = db.conninfo();
  {
    auto c = pg_connect(dsn);
    // fieldsync's role owns both tables (it manages their publication and replica
    // identity) but may not read `locked`: its copy fails with permission denied.
    pg_exec(c.get(), "GRANT CREATE ON DATABASE \"" + db.name() + "\" TO \"" + role.name() + "\";"
                     "GRANT CREATE ON SCHEMA public TO \"" + role.name() + "\";"
                     "SET ROLE \"" + role.name() + "\";"
                     "CREATE TABLE good (id bigint PRIMARY KEY, v text);"
                     "CREATE TABLE locked (id bigint PRIMARY KEY, v text);"
                     "CREATE TABLE items (id bigint PRIMARY KEY, territory_id bigint NOT NULL, "
                     "  seq bigint NOT NULL DEFAULT 0, payload text NOT NULL DEFAULT '');"
                     "INSERT INTO good SELECT g, 'g' || g FROM generate_series(1, 50) g;"
                     "INSERT INTO locked SELECT g, 'l' || g FROM generate_series(1, 50) g;"
                     "REVOKE SELECT ON locked FROM \"" + role.name() + "\";"
                     "RESET ROLE;");
  }
  const std::string sections =
      "[collections.good]\nprimary_key = [\"id\"]\npublic = true\n"
      "[collections.locked]\nprimary_key = [\"id\"]\npublic = true\n";
  server_process server(dsn + " user=" + role.name(), live_sync_sections(db, sections));
  wait_for_collection(server, dsn, "good");

  const auto token = test_token("reader", {1});
  const headers auth{{"Authorization", "Bearer " + token}};
  const headers admin{{"Authorization", std::string("Bearer ") + test_admin_token}};

  // The failure is stored for every node's readers, with its reason.
  json::object locked_status;
  for (int i = 0; i < 200 && locked_status.empty(); ++i) {
    auto status = http_call(server.admin_port(), http::verb::get, "/admin/v1/status", {}, admin);
    REQUIRE(status.status == 200);
    const auto body = status.json();  // kept alive: `collections` refers into it
    const auto& collections = body.at("replication").at("collections");
    if (collections.is_array()) {
      for (const auto& c : collections.as_array()) {
        if (c.at("name") == "locked" && c.at("state") == "failed") locked_status = c.as_object();
      }
    }
    if (locked_status.empty()) std::this_thread::sleep_for(50ms);
  }
  REQUIRE_FALSE(locked_status.empty());
  const std::string failure(locked_status.at("failure").as_string());
  CHECK(failure.find("locked") != std::string::npos);
  CHECK(failure.find("permission denied") != std::string::npos);

  // The other collection is served, snapshot and live.
  auto good = http_call(server.public_port(), http::verb::get, "/v1/collections/good/changes",
                        {}, auth);
  REQUIRE(good.status == 200);
  CHECK(good.json().at("changes").as_array().size() == 50);
  sync_client ws(server.public_port(), token, "load-test");
  ws.seq_column = "";
  ws.subscribe("good", "good");
  REQUIRE(ws.run_until([&] { return ws.view("good").up_to_date; }, 60s));
  CHECK(ws.view("good").rows.size() == 50);

  // The failed one is refused, clearly, on every path.
  auto pulled = http_call(server.public_port(), http::verb::get, "/v1/collections/locked/changes",
                          {}, auth);
  CHECK(pulled.status == 503);
  CHECK(pulled.json().at("error").at("code") == "collection_failed");
  auto shape =
      http_call(server.public_port(), http::verb::get, "/v1/shape?table=locked&offset=-1", {}, auth);
  CHECK(shape.status == 503);
  ws.subscribe("locked", "locked");
  bool refused = false;
  REQUIRE(ws.run_until(
      [&] {
        for (const auto& e : ws.protocol_errors()) {
          refused = refused || (e.contains("code") && e.at("code") == "collection_failed");
        }
        return refused;
      },
      30s));

  // Changes to both tables: the good one's arrive, the locked one's hold nothing up.
  {
    auto c = pg_connect(dsn);
    pg_exec(c.get(), "INSERT INTO locked VALUES (51, 'after'); INSERT INTO good VALUES (51, 'after');"
                     "UPDATE locked SET v = 'x'; UPDATE good SET v = 'changed' WHERE id = 1;");
  }
  REQUIRE(ws.run_until(
      [&] {
        const auto& rows = ws.view("good").rows;
        return rows.contains("51") && rows.at("1").at("v") == "changed";
      },
      60s));

  // Loud: a metric and an error line naming the table.
  auto metrics = http_call(server.admin_port(), http::verb::get, "/metrics");
  CHECK(metrics.body.find("fieldsync_collection_failures_total 1") != std::string::npos);
  const auto log = server.process().transcript();
  CHECK(log.find("collection locked FAILED") != std::string::npos);
  CHECK(log.find("\"public\".\"locked\"") != std::string::npos);
}
