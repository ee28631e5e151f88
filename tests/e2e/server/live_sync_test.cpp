// Live subscriptions of the real binary over real sockets: tenant isolation under random
// writes with rows moving between territories, the snapshot-to-live hand-over under
// concurrent writers, and reconnecting with a cursor.
//
// Every client checks on every message that nothing is doubled or skipped (sync_client:
// strictly increasing cursors, inserts of unknown keys only, updates whose seq is the held
// copy's + 1, deletes of held keys) and that each row is in its scope; at the end its rows
// must equal the scoped SELECT.

#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr std::int64_t marker_base = 900'000'000;

bool in_territories(const json::object& row, const std::vector<std::int64_t>& t) {
  const auto* v = row.if_contains("territory_id");
  return v && v->is_number() &&
         std::find(t.begin(), t.end(), v->to_number<std::int64_t>()) != t.end();
}

// The client's rows against the database's, key by key.
void check_equal(const std::map<std::string, json::object>& got,
                 const std::map<std::string, std::string>& want, const std::string& who) {
  INFO(who);
  std::vector<std::string> missing, extra, different;
  for (const auto& [key, text] : want) {
    auto it = got.find(key);
    if (it == got.end())
      missing.push_back(key);
    else if (json::value(it->second) != json::parse(text))
      different.push_back(key + " " + json::serialize(it->second) + " vs " + text);
  }
  for (const auto& [key, row] : got) {
    if (!want.contains(key)) extra.push_back(key);
  }
  auto first = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string() : v.front();
  };
  INFO("missing " << missing.size() << " " << first(missing) << "; extra " << extra.size() << " "
                  << first(extra) << "; different " << different.size() << " " << first(different));
  CHECK(missing.empty());
  CHECK(extra.empty());
  CHECK(different.empty());
}

std::map<std::string, std::string> filtered(std::map<std::string, std::string> rows,
                                            const std::string& prefix) {
  std::erase_if(rows, [&](const auto& kv) {
    return !json::parse(kv.second).at("payload").as_string().starts_with(prefix);
  });
  return rows;
}

void insert_markers(const std::string& dsn, const std::vector<std::int64_t>& territories) {
  std::string sql = "INSERT INTO items (id, territory_id, payload) VALUES ";
  for (std::size_t i = 0; i < territories.size(); ++i) {
    sql += (i ? "," : "") + std::string("(") + std::to_string(marker_base + territories[i]) + ", " +
           std::to_string(territories[i]) + ", 'done')";
  }
  query_text(dsn, sql + " RETURNING 1");
}

// The end of the server's log, for a failure message.
std::string log_tail(server_process& server) {
  auto t = server.process().transcript();
  return t.size() > 6000 ? t.substr(t.size() - 6000) : t;
}

std::string marker_key(std::int64_t territory) {
  return std::to_string(marker_base + territory);
}

// The markers are inserted in one transaction after all writes: a client that holds those
// of all its territories has been sent everything before them.
bool has_markers(const sync_view& v, const std::vector<std::int64_t>& territories) {
  return std::all_of(territories.begin(), territories.end(),
                     [&](std::int64_t t) { return v.rows.contains(marker_key(t)); });
}

struct user {
  std::string name;
  std::vector<std::int64_t> territories;
};

}  // namespace

TEST_CASE("tenant isolation: three users, 20k random changes, each gets exactly its scope",
          "[e2e][sync][isolation]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  seed_items(dsn, 900, 6);
  server_process server(dsn, live_sync_sections(db));
  wait_for_collection(dsn, "items");

  const std::vector<user> users{{"alice", {1, 2}}, {"bob", {2, 3}}, {"carol", {4}}};
  std::vector<std::unique_ptr<sync_client>> clients;
  for (const auto& u : users) {
    auto c = std::make_unique<sync_client>(server.public_port(), test_token(u.name, u.territories),
                                           u.name);
    c->row_allowed = [t = u.territories](const std::string&, const json::object& row) {
      return in_territories(row, t);
    };
    c->subscribe("all", "items");
    // A client filter on top of the scope: rows also move in and out of it by payload.
    c->subscribe("a", "items", "payload LIKE 'a%'");
    REQUIRE(
        c->run_until([&] { return c->view("all").up_to_date && c->view("a").up_to_date; }, 60s));
    clients.push_back(std::move(c));
  }

  std::vector<std::thread> readers;
  std::vector<bool> finished(users.size(), false);
  for (std::size_t i = 0; i < users.size(); ++i) {
    readers.emplace_back([&, i] {
      auto& c = *clients[i];
      // Both subscriptions live (after a 4008 reconnect they catch up first) and the markers in.
      finished[i] = c.run_until(
          [&] {
            return has_markers(c.view("all"), users[i].territories) && c.view("all").up_to_date &&
                   c.view("a").up_to_date;
          },
          600s);
    });
  }
  items_workload w;
  w.changes = 20'000;
  w.territories = 6;
  w.first_id = 10'000;
  w.seed = 20261125;
  std::uint64_t made = 0;
  try {
    made = run_items_workload(dsn, w, 1, marker_base);
    insert_markers(dsn, {1, 2, 3, 4});
  } catch (...) {
    for (auto& t : readers) t.join();
    throw;
  }
  for (auto& t : readers) t.join();
  CHECK(made == 20'000);
  if (std::find(finished.begin(), finished.end(), false) != finished.end())
    FAIL_CHECK(log_tail(server));

  std::size_t moves_seen = 0;
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto& c = *clients[i];
    INFO(users[i].name);
    CHECK(finished[i]);
    CHECK(c.errors().empty());
    for (const auto& e : c.errors()) UNSCOPED_INFO(e);
    CHECK(c.protocol_errors().empty());
    auto want = items_in(dsn, users[i].territories);
    check_equal(c.view("all").rows, want, users[i].name + " all");
    // The client filter's subscription is compared once it has seen the marker's commit:
    // changes within one session arrive in commit order across its subscriptions.
    check_equal(c.view("a").rows, filtered(want, "a"), users[i].name + " a");
    INFO("reconnects " << c.reconnects());
    CHECK(c.view("all").resets == 0);
    CHECK(c.view("all").changes > 1000);
    moves_seen += c.view("a").changes;
  }
  CHECK(moves_seen > 0);
  CHECK(server.terminate() == 0);
}

TEST_CASE("snapshot to live under concurrent writers: no gap, no duplicate",
          "[e2e][sync][handover]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  // Two writers, each on its own ids: [1, 5e6) and [5e6, 1e7).
  seed_items(dsn, 1500, 4, 1);
  seed_items(dsn, 1500, 4, 5'000'000);
  // Small snapshot batches and pages: the hand-over happens at many different points.
  server_process server(
      dsn,
      live_sync_sections(db, "[websocket]\nsnapshot_batch_rows = 97\nfanout_read_changes = 50\n"));
  wait_for_collection(dsn, "items");

  std::atomic<std::uint64_t> progress{0};
  std::vector<std::uint64_t> made(2, 0);
  std::vector<std::thread> writers;
  for (int k = 0; k < 2; ++k) {
    writers.emplace_back([&, k] {
      items_workload w;
      w.changes = 8'000;
      w.territories = 4;
      w.seed = 7 + static_cast<std::uint64_t>(k);
      const std::int64_t lo = k == 0 ? 1 : 5'000'000;
      try {
        made[static_cast<std::size_t>(k)] =
            run_items_workload(dsn, w, lo, lo + 4'999'999, nullptr, k == 0 ? &progress : nullptr);
      } catch (const std::exception&) {
        progress = 8'000;  // lets the clients start; the count check below fails
      }
    });
  }

  const std::vector<std::vector<std::int64_t>> scopes{{1}, {1, 2}, {2, 3, 4},
                                                      {4}, {1, 3}, {1, 2, 3, 4}};
  std::vector<std::unique_ptr<sync_client>> clients(scopes.size());
  std::vector<bool> finished(scopes.size(), false);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    // Subscribe at staggered points of the write load.
    const std::uint64_t at = 500 + i * 1000;
    while (progress.load() < at && progress.load() < 7'900) std::this_thread::yield();
    auto& c = clients[i];
    c = std::make_unique<sync_client>(server.public_port(),
                                      test_token("user" + std::to_string(i), scopes[i]));
    c->row_allowed = [t = scopes[i]](const std::string&, const json::object& row) {
      return in_territories(row, t);
    };
    c->subscribe("s", "items", i % 2 ? "" : "seq >= 0");
    readers.emplace_back([&, i] {
      // A client still catching up gets the markers before up-to-date.
      finished[i] = clients[i]->run_until(
          [&] {
            return has_markers(clients[i]->view("s"), scopes[i]) &&
                   clients[i]->view("s").up_to_date;
          },
          600s);
    });
  }
  for (auto& t : writers) t.join();
  insert_markers(dsn, {1, 2, 3, 4});
  for (auto& t : readers) t.join();
  CHECK(made[0] + made[1] == 16'000);
  if (std::find(finished.begin(), finished.end(), false) != finished.end())
    FAIL_CHECK(log_tail(server));

  for (std::size_t i = 0; i < scopes.size(); ++i) {
    auto& c = *clients[i];
    INFO("client " << i);
    CHECK(finished[i]);
    for (const auto& e : c.errors()) UNSCOPED_INFO(e);
    CHECK(c.errors().empty());
    CHECK(c.protocol_errors().empty());
    INFO("reconnects " << c.reconnects() << ", resets " << c.view("s").resets);
    CHECK(c.view("s").resets == 0);
    CHECK(c.view("s").snapshot_done);
    CHECK(c.view("s").up_to_date);
    check_equal(c.view("s").rows, items_in(dsn, scopes[i]), "client " + std::to_string(i));
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE("reconnecting with a cursor after missing 1,000 changes catches up exactly",
          "[e2e][sync][cursor]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  seed_items(dsn, 500, 2);  // territories 1 and 2: all of it in the user's scope
  server_process server(dsn, live_sync_sections(db));
  wait_for_collection(dsn, "items");
  const std::vector<std::int64_t> scope{1, 2};
  const auto token = test_token("dana", scope);

  std::map<std::string, json::object> rows;
  std::string cursor;
  {
    sync_client first(server.public_port(), token);
    first.subscribe("s", "items");
    REQUIRE(first.run_until([&] { return first.view("s").up_to_date; }, 60s));
    CHECK(first.view("s").snapshot_rows == 500);
    rows = first.view("s").rows;
    cursor = *first.view("s").cursor;
    first.raw().close();
  }

  // 1,000 changes while away, every one of them in scope: inserts, updates, moves between
  // the two territories, deletes.
  items_workload w;
  w.changes = 1'000;
  w.only_territories = scope;
  w.first_id = 10'000;
  REQUIRE(run_items_workload(dsn, w, 1, marker_base) == 1'000);

  sync_client second(server.public_port(), token);
  second.row_allowed = [&](const std::string&, const json::object& row) {
    return in_territories(row, scope);
  };
  second.view("s").rows = rows;
  second.view("s").cursor = cursor;
  second.subscribe("s", "items", "", cursor);
  REQUIRE(second.run_until([&] { return second.view("s").up_to_date; }, 60s));
  insert_markers(dsn, {1});
  REQUIRE(second.run_until([&] { return second.view("s").rows.contains(marker_key(1)); }, 60s));
  for (const auto& e : second.errors()) UNSCOPED_INFO(e);
  CHECK(second.errors().empty());
  CHECK(second.view("s").resets == 0);
  CHECK(second.view("s").snapshot_rows == 0);  // no snapshot: the cursor was usable
  CHECK(second.view("s").changes == 1'001);    // the thousand, then the marker
  check_equal(second.view("s").rows, items_in(dsn, scope), "after reconnect");

  // A cursor of another epoch: reset, then a snapshot.
  sync_client third(server.public_port(), token);
  third.subscribe("s", "items", "", "1-0000000000000001");
  REQUIRE(third.run_until([&] { return third.view("s").up_to_date; }, 60s));
  CHECK(third.view("s").resets == 1);
  CHECK(third.view("s").snapshot_done);
  CHECK(third.errors().empty());
  check_equal(third.view("s").rows, items_in(dsn, scope), "after reset");

  // Something that is not a cursor of this server is refused.
  third.subscribe("t", "items", "", "garbage");
  auto m = third.next();
  REQUIRE(m);
  CHECK(m->at("type") == "error");
  CHECK(m->at("code") == "bad_cursor");
  CHECK(server.terminate() == 0);
}
