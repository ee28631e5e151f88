// Source database failover (issue 17, item 4): a streaming standby is promoted while
// fieldsync runs on a multi-host DSN (`host=a,b target_session_attrs=read-write`), with the
// change log in the same database (the default).
//
// A primary of the test's own and a standby made with `pg_basebackup -R` on its own port.
// fieldsync ingests from the primary; WebSocket clients follow `items` (the sync_workload
// table: every update bumps seq, so a missed or doubled change shows) while a writer writes.
// Then the primary stops (immediate: a crash) and the standby is promoted; the writer goes
// on against whichever host takes writes. PostgreSQL 15 has no failover slots: the promoted
// standby has no slot, and its copy of the change log (physical replication copied it) may
// end before what the clients were already sent (commits not yet streamed when the primary
// died). The test makes sure it does: the standby stops receiving WAL a while before the
// primary dies, and the clients (and a pull's cursor) are past its copy of the log by then.
// Afterwards:
//   - fieldsync reconnected every session to the new primary by itself: the ingest leads
//     again, says HISTORY LOST once and starts one new epoch (log, /admin/v1/status);
//   - every client got exactly one reset and holds exactly the rows of the new primary,
//     with no protocol violation on the way;
//   - a delta pull from a cursor of the old epoch gets 409 reset, a fresh pull holds the
//     table;
//   - a mutation is applied on the new primary and reaches the clients;
//   - restarted on the promoted server, fieldsync continues the new epoch.

#include "protocol/cursor.hpp"
#include "protocol/lsn.hpp"
#include "storage/replication_slot.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/private_cluster.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/standby_cluster.hpp"
#include "tests/support/stop_and_join.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::int64_t marker_base = 900'000'000;
constexpr std::int64_t mutated_id = 800'000'000;

std::string sections() {
  return "[replication]\n"
         "slot = \"fs_failover\"\n"
         "publication = \"fs_failover\"\n"
         "heartbeat_interval_ms = 500\n"
         "reconnect_min_ms = 200\n"
         "reconnect_max_ms = 2000\n"
         "[auth]\n"
         "leeway_ms = 0\n"
         "[auth.keys.test]\n"
         "alg = \"HS256\"\n"
         "secret = \"" +
         std::string(test_jwt_secret) +
         "\"\n"
         "[collections.items]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"territory_id = ANY($claims.territories)\"\n"
         "write_scope = \"territory_id = ANY($claims.territories)\"\n";
}

std::string read_password(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string pw;
  std::getline(in, pw);
  return pw;
}

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

std::string log_tail(server_process& server, std::size_t bytes = 6000) {
  auto t = server.process().transcript();
  return t.size() > bytes ? t.substr(t.size() - bytes) : t;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void wait_for(const std::function<bool()>& done, std::chrono::seconds timeout,
              const std::string& what, server_process& server) {
  const auto deadline = steady::now() + timeout;
  while (!done()) {
    if (steady::now() > deadline) {
      FAIL("timed out waiting for " << what << "; the server's log ends:\n" << log_tail(server));
    }
    std::this_thread::sleep_for(50ms);
  }
}

json::value admin_status(server_process& server) {
  auto r = http_call(server.admin_port(), http::verb::get, "/admin/v1/status", {},
                     {{"Authorization", std::string("Bearer ") + test_admin_token}});
  if (r.status != 200) return nullptr;
  return json::parse(r.body);
}

// The ingest's part of /admin/v1/status, or null.
json::value ingest_status(server_process& server) {
  try {
    auto s = admin_status(server);
    if (!s.is_object()) return nullptr;
    const auto* ingest = s.at("replication").as_object().if_contains("ingest");
    return ingest ? *ingest : json::value(nullptr);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// A delta pull of items from the start to its end: the rows and the last cursor.
struct pulled {
  std::map<std::string, json::object> rows;
  std::string cursor;
};

pulled pull_all(std::uint16_t port, const std::string& token) {
  pulled out;
  for (int pages = 0; pages < 1000; ++pages) {
    std::string target = "/v1/collections/items/changes?limit=500";
    if (!out.cursor.empty()) target += "&cursor=" + url_encode(out.cursor);
    auto r = http_call(port, http::verb::get, target, {}, {{"Authorization", "Bearer " + token}});
    if (r.status == 503) {
      std::this_thread::sleep_for(100ms);
      --pages;
      continue;
    }
    REQUIRE(r.status == 200);
    auto body = r.json().as_object();
    for (const auto& ch : body.at("changes").as_array()) {
      const auto& c = ch.as_object();
      std::string key(c.at("key").as_string());
      if (c.at("op") == "delete") {
        out.rows.erase(key);
      } else {
        out.rows[key] = c.at("row").as_object();
      }
    }
    out.cursor = std::string(body.at("cursor").as_string());
    if (!body.at("has_more").as_bool() && out.cursor[0] != 'S') return out;
  }
  FAIL("the pull did not end");
  return out;
}

struct user {
  std::string name;
  std::vector<std::int64_t> territories;
};

// Writes the items workload until `stop`, on the multi-host DSN: a run that fails (the
// primary went away, the standby does not take writes yet) is followed by another on fresh
// ids once a host takes writes again.
void writer(const std::string& dsn, const std::atomic<bool>& stop, std::atomic<std::uint64_t>& made,
            std::atomic<std::uint64_t>& failures) {
  for (std::uint64_t run = 0; !stop; ++run) {
    items_workload w;
    w.changes = 1'000'000;
    w.territories = 4;
    w.seed = 17 + run;
    w.first_id = 10'000 + static_cast<std::int64_t>(run) * 1'000'000;
    std::atomic<std::uint64_t> progress{0};
    try {
      run_items_workload(dsn, w, 1, marker_base, &stop, &progress);
    } catch (const std::exception&) {
      ++failures;
      std::this_thread::sleep_for(100ms);
    }
    made += progress;
  }
}

}  // namespace

TEST_CASE("source failover: a promoted standby on a multi-host DSN, a new epoch, clients reset",
          "[e2e][failover]") {
  // synchronous_commit on, so what the test's SQL wrote on the primary was flushed there;
  // the standby is asynchronous all the same (what it had not received when the primary
  // died is gone, as in a real failover).
  private_cluster primary({"synchronous_commit = on", "wal_keep_size = 256MB", "hot_standby = on"});
  const auto primary_dsn = primary.conninfo();
  create_items_schema(primary_dsn);
  seed_items(primary_dsn, 400, 4);

  standby_cluster standby(primary.cluster());
  const auto password = read_password(primary.cluster().password_file());
  const auto multi_dsn =
      "host=127.0.0.1,127.0.0.1 port=" + std::to_string(primary.cluster().port()) + "," +
      std::to_string(standby.port()) + " user=" + primary.cluster().superuser() +
      " password=" + password + " dbname=" + primary.cluster().database() +
      " target_session_attrs=read-write";
  const auto standby_dsn = standby.conninfo(primary.cluster().database());
  REQUIRE(standby.in_recovery());

  server_process server(multi_dsn, sections(), {{"FIELDSYNC_LOG_LEVEL", "debug"}});
  wait_for_collection(server, primary_dsn, "items");
  const auto port = server.public_port();
  wait_for(
      [&] {
        return ingest_status(server).is_object() &&
               ingest_status(server).at("phase") == "streaming";
      },
      60s, "the ingest to stream", server);
  const auto old_epoch = ingest_status(server).at("epoch").as_int64();

  const std::vector<user> users{{"alice", {1, 2}}, {"bob", {3}}, {"carol", {1, 2, 3, 4}}};
  std::vector<std::unique_ptr<sync_client>> clients;
  for (const auto& u : users) {
    auto c = std::make_unique<sync_client>(port, test_token(u.name, u.territories), u.name);
    c->row_allowed = [t = u.territories](const std::string&, const json::object& row) {
      return in_territories(row, t);
    };
    c->subscribe("s", "items");
    REQUIRE(c->run_until([&] { return c->view("s").up_to_date; }, 60s));
    clients.push_back(std::move(c));
  }

  std::atomic<bool> stop_writer{false};
  std::atomic<std::uint64_t> made{0}, write_failures{0};
  std::thread writing([&] { writer(multi_dsn, stop_writer, made, write_failures); });
  stop_and_join join_writer{stop_writer, writing};

  // The clients follow the writes for a while: they hold positions of the old epoch.
  for (auto& c : clients) {
    REQUIRE(c->run_until([&] { return c->view("s").changes >= 30; }, 60s));
  }
  // Then the standby falls behind: it stops receiving WAL, and the clients are sent more
  // than its copy of the change log will ever hold.
  standby.detach(60s);
  const auto standby_high = fieldsync::protocol::lsn::parse(
      query_text(standby_dsn, "SELECT high_lsn::text FROM fieldsync.state"));
  REQUIRE(standby_high);
  for (auto& c : clients) {
    REQUIRE(c->run_until(
        [&] {
          auto at = fieldsync::protocol::cursor::parse(c->view("s").cursor.value_or(""));
          return at && *standby_high < at->position;
        },
        60s));
  }
  const auto carol_token = test_token("carol", {1, 2, 3, 4});
  const auto before = pull_all(port, carol_token);
  {
    auto at = fieldsync::protocol::cursor::parse(before.cursor);
    REQUIRE(at);
    CHECK(at->epoch == old_epoch);
    INFO("the pull's cursor " << before.cursor << ", the standby's log ends at "
                              << standby_high->to_string());
    REQUIRE(*standby_high < at->position);
  }

  // The failover: the primary crashes, the standby is promoted; the writer goes on
  // against it through the multi-host DSN.
  primary.cluster().stop("immediate");
  standby.promote();
  REQUIRE_FALSE(standby.in_recovery());
  {
    // The promoted server's timeline history as the ingest reads it: its timeline began
    // after the end of its copy of the log, so a slot carried over (a failover-slot tool)
    // would not keep the old epoch either.
    auto c = pg_connect(standby_dsn + " replication=database");
    auto r = pg_exec(c.get(), "TIMELINE_HISTORY 2");
    auto begun = fieldsync::storage::timeline_history_end(std::string_view(
        PQgetvalue(r.get(), 0, 1), static_cast<std::size_t>(PQgetlength(r.get(), 0, 1))));
    INFO("TIMELINE_HISTORY 2: " << PQgetvalue(r.get(), 0, 1));
    REQUIRE(begun);
    CHECK(*standby_high < *begun);
  }

  // The readers keep reading while fieldsync finds its way to the new primary.
  // As the protocol asks of clients: a subscription ended with `unavailable` (the new
  // epoch's copy of the collection is still being made) is made again a moment later.
  // Any other error message is kept for the checks below.
  std::vector<std::thread> readers;
  std::vector<char> finished(users.size(), 0);
  std::vector<std::vector<std::string>> other_errors(users.size());
  std::vector<int> unavailable(users.size(), 0);
  for (std::size_t i = 0; i < users.size(); ++i) {
    readers.emplace_back([&, i] {
      auto& c = *clients[i];
      const auto& t = users[i].territories;
      const auto deadline = steady::now() + 240s;
      while (steady::now() < deadline && !c.closed()) {
        const bool done = c.run_until(
            [&] {
              if (!c.protocol_errors().empty()) return true;
              const auto& v = c.view("s");
              return v.up_to_date && std::all_of(t.begin(), t.end(), [&](std::int64_t n) {
                       return v.rows.contains(std::to_string(marker_base + n));
                     });
            },
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()));
        if (!done) break;
        if (c.protocol_errors().empty()) {
          finished[i] = 1;
          break;
        }
        bool ended = false;
        for (const auto& e : c.protocol_errors()) {
          if (e.at("code") == "unavailable") {
            ++unavailable[i];
            ended = true;
          } else {
            other_errors[i].push_back(json::serialize(e));
          }
        }
        c.protocol_errors().clear();
        if (ended) {
          std::this_thread::sleep_for(100ms);
          c.resubscribe("s");
        }
      }
    });
  }
  struct reader_joiner {
    std::vector<std::thread>& threads;
    ~reader_joiner() {
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_readers{readers};

  // fieldsync reconnects on its own: the ingest leads again on the new primary, in a new
  // epoch, because the slot is missing there.
  json::value ingest;
  wait_for(
      [&] {
        ingest = ingest_status(server);
        return ingest.is_object() && ingest.at("phase") == "streaming" &&
               ingest.at("leader") == true && ingest.at("epoch").as_int64() != old_epoch;
      },
      120s, "the ingest to stream again in a new epoch", server);
  const auto new_epoch = ingest.at("epoch").as_int64();
  CHECK(new_epoch > old_epoch);
  CHECK(ingest.at("epochs_started").as_int64() == 2);
  {
    const auto status = admin_status(server);
    INFO(json::serialize(status));
    const auto& repl = status.at("replication").as_object();
    CHECK(repl.at("slot").at("exists") == true);
    CHECK(repl.at("log").at("epoch").as_int64() == new_epoch);
  }
  {
    const auto log = server.process().transcript();
    INFO(log_tail(server));
    CHECK(count_of(log, "HISTORY LOST") == 1);
    CHECK(log.find("replication slot fs_failover does not exist any more") != std::string::npos);
  }

  // Writes go on against the new primary; a mutation through fieldsync lands there too.
  // (Replay during recovery counts nothing: these are the promoted server's own writes.)
  wait_for(
      [&] {
        auto n = query_text(standby_dsn,
                            "SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables "
                            "WHERE relname = 'items'");
        return !n.empty() && std::stoll(n) >= 50;
      },
      60s, "the writer's writes on the new primary", server);
  {
    json::value batch = json::object{
        {"client_id", "failover-writer"},
        {"mutations", json::array{json::object{
                          {"mutation_id", 1},
                          {"collection", "items"},
                          {"op", "insert"},
                          {"key", {{"id", mutated_id}}},
                          {"set", {{"territory_id", 1}, {"seq", 0}, {"payload", "pushed"}}}}}}};
    http_reply r;
    const auto deadline = steady::now() + 60s;
    for (;;) {
      r = http_call(
          port, http::verb::post, "/v1/mutations", json::serialize(batch),
          {{"Authorization", "Bearer " + carol_token}, {"Content-Type", "application/json"}});
      if (r.status != 503 || steady::now() > deadline) break;
      std::this_thread::sleep_for(200ms);
    }
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto answer = r.json();
    const auto& result = answer.at("results").as_array().at(0).as_object();
    CHECK((result.at("status") == "applied" || result.at("status") == "duplicate"));
    CHECK(query_text(standby_dsn, "SELECT payload FROM items WHERE id = " +
                                      std::to_string(mutated_id)) == "pushed");
  }

  // The writer stops; markers (one per territory, one transaction) end the clients' waits.
  stop_writer = true;
  writing.join();
  query_text(standby_dsn, "INSERT INTO items (id, territory_id, payload) VALUES (" +
                              std::to_string(marker_base + 1) + ", 1, 'done'), (" +
                              std::to_string(marker_base + 2) + ", 2, 'done'), (" +
                              std::to_string(marker_base + 3) + ", 3, 'done'), (" +
                              std::to_string(marker_base + 4) + ", 4, 'done') RETURNING 1");
  for (auto& t : readers) t.join();

  WARN(made.load() << " row changes written, " << write_failures.load()
                   << " writer runs ended by the failover");
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto& c = *clients[i];
    INFO(users[i].name << ": reconnects " << c.reconnects());
    CHECK(finished[i]);
    for (const auto& e : c.errors()) UNSCOPED_INFO(e);
    CHECK(c.errors().empty());
    for (const auto& e : other_errors[i]) UNSCOPED_INFO(e);
    CHECK(other_errors[i].empty());
    INFO("subscriptions ended by unavailable: " << unavailable[i]);
    // One reset for the new epoch. A session that resumed in the moments between the
    // promotion and the new epoch (a 4008 reconnect here) had a cursor ahead of the
    // promoted copy of the log: it was reset for that too, never served from it.
    const auto& reasons = c.view("s").reset_reasons;
    std::string listed;
    for (const auto& r : reasons) listed += r + " ";
    INFO("resets: " << listed);
    const auto epoch_resets = std::count(reasons.begin(), reasons.end(), "other_epoch");
    const auto ahead_resets = std::count(reasons.begin(), reasons.end(), "ahead");
    CHECK(epoch_resets == 1);
    CHECK(static_cast<std::size_t>(epoch_resets + ahead_resets) == reasons.size());
    if (ahead_resets > 0) CHECK(c.reconnects() > 0);
    auto at = fieldsync::protocol::cursor::parse(c.view("s").cursor.value_or(""));
    CHECK((at && at->epoch == new_epoch));
    check_equal(c.view("s").rows, items_in(standby_dsn, users[i].territories), users[i].name);
  }
  if (std::find(finished.begin(), finished.end(), 0) != finished.end()) FAIL(log_tail(server));

  // A pull from a cursor of the old epoch is told to reset; pulling again holds the table.
  {
    auto r = http_call(port, http::verb::get,
                       "/v1/collections/items/changes?cursor=" + url_encode(before.cursor), {},
                       {{"Authorization", "Bearer " + carol_token}});
    INFO(r.body);
    CHECK(r.status == 409);
    CHECK(r.body.find("\"reset\":true") != std::string::npos);
    auto after = pull_all(port, carol_token);
    check_equal(after.rows, items_in(standby_dsn, {1, 2, 3, 4}), "the pull after the reset");
    auto at = fieldsync::protocol::cursor::parse(after.cursor);
    CHECK((at && at->epoch == new_epoch));
  }
  CHECK(server.terminate() == 0);

  // Restarted on the promoted server, fieldsync continues the new epoch: the log now goes
  // past the start of the server's timeline, and the slot is its own.
  server_process again(multi_dsn, sections(), {{"FIELDSYNC_LOG_LEVEL", "debug"}});
  json::value resumed;
  wait_for(
      [&] {
        resumed = ingest_status(again);
        return resumed.is_object() && resumed.at("phase") == "streaming";
      },
      60s, "the restarted ingest to stream", again);
  CHECK(resumed.at("epoch").as_int64() == new_epoch);
  CHECK(resumed.at("epochs_started").as_int64() == 0);
  CHECK(again.process().transcript().find("HISTORY LOST") == std::string::npos);
  CHECK(again.terminate() == 0);
}
