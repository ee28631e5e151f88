// The cluster-wide admin view through real binaries on one PostgreSQL: every node's
// heartbeat row (/admin/v1/cluster: the nodes, the one leader, a killed node shown as down,
// a stopped one gone), the client list of every node from any node, disconnects by subject
// or by id that reach the node holding the session (close code 4003), and the cluster
// metrics.

#include "tests/support/http_client.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <regex>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

http_reply admin(std::uint16_t port, http::verb method, const std::string& target) {
  return http_call(port, method, target, {},
                   {{"Authorization", std::string("Bearer ") + test_admin_token}});
}

json::object cluster(server_process& node) {
  auto r = admin(node.admin_port(), http::verb::get, "/admin/v1/cluster");
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json().as_object();
}

// A node named `name`, short heartbeats so that "down" comes soon.
std::unique_ptr<server_process> start_node(const std::string& dsn, const std::string& sections,
                                           const std::string& name) {
  return std::make_unique<server_process>(
      dsn, sections,
      std::map<std::string, std::string>{{"FIELDSYNC_SERVER_NODE_NAME", name},
                                         {"FIELDSYNC_SERVER_HEARTBEAT_INTERVAL_MS", "200"}});
}

const json::object* node_named(const json::object& view, std::string_view name) {
  for (const auto& n : view.at("nodes").as_array()) {
    if (n.at("name").is_string() && n.at("name").as_string() == name) return &n.as_object();
  }
  return nullptr;
}

std::string state_of(const json::object& view, std::string_view name) {
  const auto* n = node_named(view, name);
  return n ? std::string(n->at("state").as_string()) : "absent";
}

// The value of an unlabelled series of /metrics; nullopt when it is not there.
std::optional<double> metric(server_process& node, const std::string& name) {
  auto r = http_call(node.admin_port(), http::verb::get, "/metrics");
  REQUIRE(r.status == 200);
  std::smatch m;
  const std::regex line("(^|\n)" + name + " (-?[0-9.e+]+)\n");
  if (!std::regex_search(r.body, m, line)) return std::nullopt;
  return std::stod(m[2]);
}

std::uint16_t close_code_of(sync_client& c) {
  for (int i = 0; i < 1000; ++i) {
    if (!c.raw().receive(10s)) return c.raw().close_code();
  }
  return 0;
}

json::array clients_of(server_process& node, const std::string& query = "") {
  auto r = admin(node.admin_port(), http::verb::get, "/admin/v1/clients" + query);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json().at("clients").as_array();
}

const json::object* client_named(const json::array& clients, std::string_view client_id) {
  for (const auto& c : clients) {
    if (c.at("client_id").is_string() && c.at("client_id").as_string() == client_id)
      return &c.as_object();
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the cluster view lists every node, one leader, and a killed node as down",
          "[e2e][admin][cluster]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  const auto sections = mutation_sections(db.name());
  auto a = start_node(dsn, sections, "node-a");
  wait_for_log_rows(dsn, 3);  // a leads: it made the log (and fieldsync.nodes)
  auto b = start_node(dsn, sections, "node-b");
  auto c = start_node(dsn, sections, "node-c");

  CHECK(http_call(b->admin_port(), http::verb::get, "/admin/v1/cluster").status == 401);
  wait_until([&] { return cluster(*b).at("alive") == 3; }, 30s, "three nodes heartbeat");
  auto view = cluster(*b);
  INFO(json::serialize(view));
  CHECK(view.at("node").at("name") == "node-b");
  REQUIRE(view.at("nodes").as_array().size() == 3);
  int leaders = 0;
  for (const auto& n : view.at("nodes").as_array()) {
    CHECK(n.at("state") == "alive");
    CHECK(n.at("ingests") == true);
    CHECK(n.at("id").as_string().size() == 16);
    CHECK(n.at("heartbeat_interval_ms") == 200);
    CHECK(n.at("heartbeat_age_seconds").to_number<double>() >= 0);
    CHECK_FALSE(n.at("version").as_string().empty());
    CHECK(std::string_view(n.at("admin_listen").as_string()).starts_with("127.0.0.1:"));
    CHECK(n.at("connections").at("websocket") == 0);
    if (n.at("leader") == true) ++leaders;
  }
  CHECK(leaders == 1);
  CHECK(view.at("leader").at("name") == "node-a");
  CHECK(node_named(view, "node-b")->at("this_node") == true);
  CHECK(node_named(view, "node-a")->at("this_node") == false);
  CHECK(node_named(view, "node-a")->at("ingest").at("phase").is_string());
  const auto& replication = view.at("replication");
  CHECK(replication.at("lag_bytes").is_int64());
  CHECK(replication.at("lag_bytes").as_int64() >= 0);
  CHECK(replication.at("retained_wal_bytes").as_int64() >= replication.at("lag_bytes").as_int64());
  CHECK(replication.at("slot").at("exists") == true);
  CHECK(replication.at("log").at("epoch").is_int64());
  // Every node answers the same cluster.
  CHECK(cluster(*a).at("leader") == view.at("leader"));

  // The metrics, plausible on each node.
  wait_until([&] { return metric(*a, "fieldsync_cluster_nodes") == 3.0; }, 30s,
             "the leader counts three nodes");
  CHECK(metric(*a, "fieldsync_ingest_leader") == 1.0);
  CHECK(metric(*b, "fieldsync_ingest_leader") == 0.0);
  CHECK(metric(*a, "fieldsync_leader_changes_total") == 1.0);
  CHECK(metric(*b, "fieldsync_leader_changes_total") == 0.0);
  wait_until([&] { return metric(*b, "fieldsync_slot_lag_bytes").value_or(-1) >= 0; }, 30s,
             "the slot's lag is measured");
  CHECK(metric(*b, "fieldsync_slot_retained_wal_bytes").value_or(-1) >= 0);
  CHECK(metric(*b, "fieldsync_ws_resumes_total") == 0.0);

  // A killed node stops renewing its row: down after three intervals, and not counted.
  c->process().signal(SIGKILL);
  REQUIRE(c->process().wait_exit(10s) == 128 + SIGKILL);
  c.reset();
  wait_until([&] { return state_of(cluster(*a), "node-c") == "down"; }, 30s, "node-c is down");
  view = cluster(*a);
  CHECK(view.at("alive") == 2);
  CHECK(node_named(view, "node-c")->at("leader") == false);
  CHECK(view.at("leader").at("name") == "node-a");
  wait_until([&] { return metric(*a, "fieldsync_cluster_nodes") == 2.0; }, 30s,
             "the killed node is not counted");

  // A node that stops gracefully leaves the view at once.
  CHECK(b->terminate() == 0);
  b.reset();
  view = cluster(*a);
  CHECK(state_of(view, "node-b") == "absent");
  CHECK(state_of(view, "node-c") == "down");

  // The leader killed: another node takes over, and the view says so.
  b = start_node(dsn, sections, "node-b2");
  wait_until([&] { return state_of(cluster(*b), "node-b2") == "alive"; }, 30s, "node-b2 joins");
  a->process().signal(SIGKILL);
  REQUIRE(a->process().wait_exit(10s) == 128 + SIGKILL);
  a.reset();
  wait_until(
      [&] {
        auto v = cluster(*b);
        return state_of(v, "node-a") == "down" && v.at("leader").is_object() &&
               v.at("leader").at("name") == "node-b2";
      },
      60s, "node-b2 leads");
  wait_until([&] { return metric(*b, "fieldsync_leader_changes_total") == 1.0; }, 30s,
             "node-b2 counts its leadership");
  CHECK(b->terminate() == 0);
}

TEST_CASE("any node lists the clients of every node and disconnects them where they are",
          "[e2e][admin][cluster][sync]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  const auto sections = mutation_sections(db.name());
  auto a = start_node(dsn, sections, "node-a");
  wait_for_log_rows(dsn, 3);
  auto b = start_node(dsn, sections, "node-b");
  wait_until([&] { return cluster(*b).at("alive") == 2; }, 30s, "two nodes heartbeat");
  const std::string a_id(cluster(*a).at("node").at("id").as_string());
  const std::string b_id(cluster(*b).at("node").at("id").as_string());

  sync_client tab1(a->public_port(), hs256_token({{"sub", "u1"}}), "tab-1");
  tab1.seq_column = "";
  tab1.subscribe("items", "m_items");
  REQUIRE(tab1.run_until([&] { return tab1.view("items").up_to_date; }));
  sync_client tab2(a->public_port(), hs256_token({{"sub", "u2"}}), "tab-2");
  sync_client tab3(b->public_port(), hs256_token({{"sub", "u1"}}), "tab-3");

  // b lists a's clients as a published them with its heartbeat.
  wait_until([&] { return clients_of(*b).size() == 3; }, 30s, "b lists the clients of both");
  auto all = clients_of(*b);
  INFO(json::serialize(all));
  const auto* t1 = client_named(all, "tab-1");
  const auto* t2 = client_named(all, "tab-2");
  const auto* t3 = client_named(all, "tab-3");
  REQUIRE((t1 && t2 && t3));
  CHECK(t1->at("node") == a_id.c_str());
  CHECK(t1->at("node_name") == "node-a");
  CHECK(t1->at("subject") == "u1");
  CHECK(t1->at("subscriptions") ==
        json::array{json::object{{"id", "items"}, {"collection", "m_items"}}});
  CHECK(t2->at("node") == a_id.c_str());
  CHECK(t3->at("node") == b_id.c_str());
  const auto tab2_id = t2->at("id").as_int64();
  // Only this node, and only one node; by subject; paged across nodes.
  auto local = clients_of(*b, "?node=local");
  REQUIRE(local.size() == 1);
  CHECK(local[0].at("client_id") == "tab-3");
  CHECK(clients_of(*b, "?node=" + a_id).size() == 2);
  CHECK(clients_of(*b, "?subject=u1").size() == 2);
  auto page1 = admin(b->admin_port(), http::verb::get, "/admin/v1/clients?limit=2");
  REQUIRE(page1.status == 200);
  CHECK(page1.json().at("clients").as_array().size() == 2);
  REQUIRE(page1.json().at("next_after").is_string());
  auto page2 = admin(b->admin_port(), http::verb::get,
                     "/admin/v1/clients?limit=2&after=" +
                         url_encode(std::string(page1.json().at("next_after").as_string())));
  REQUIRE(page2.status == 200);
  CHECK(page2.json().at("clients").as_array().size() == 1);
  CHECK(page2.json().at("next_after").is_null());
  CHECK(admin(b->admin_port(), http::verb::get, "/admin/v1/clients?after=7").status == 400);

  // A subject's sessions closed from b: b's own at once, a's through the NOTIFY.
  auto closed = admin(b->admin_port(), http::verb::delete_, "/admin/v1/clients?sub=u1");
  INFO(closed.body);
  REQUIRE(closed.status == 200);
  CHECK(closed.json().at("disconnected") == json::array{t3->at("id")});
  CHECK(closed.json().at("broadcast") == true);
  CHECK(close_code_of(tab3) == 4003);
  CHECK(close_code_of(tab1) == 4003);

  // One session of another node, by its node and id.
  auto one = admin(b->admin_port(), http::verb::delete_,
                   "/admin/v1/clients/" + std::to_string(tab2_id) + "?node=" + a_id);
  REQUIRE(one.status == 200);
  CHECK(one.json().at("broadcast") == true);
  CHECK(close_code_of(tab2) == 4003);
  wait_until([&] { return clients_of(*b).empty(); }, 30s, "the closed sessions leave the list");

  // A client that resumes from its cursor on the other node counts as a resume there.
  REQUIRE(tab1.reconnect_to(b->public_port()));
  wait_until([&] { return metric(*b, "fieldsync_ws_resumes_total") == 1.0; }, 30s,
             "b counts the resume");
  CHECK(a->terminate() == 0);
  CHECK(b->terminate() == 0);
}
