// PostgreSQL restarting under a busy server (issue 11, item 5): 20 restarts in a row, fast
// and immediate by turns, every 1-3 s, on a cluster of the test's own, while mutation
// batches go in over HTTP and over the WebSocket, a live subscription follows the table and
// a long-poll follows the change log. After every restart a write made with plain SQL must
// reach the subscription and the long-poll, and a push must be told its version again;
// afterwards no fieldsync session is idle in a transaction, every acknowledged mutation was
// applied exactly once, both followers hold exactly the table, and the server stops cleanly.
//
// The table's triggers keep the truth: `seq` grows by one with each update of a row (so the
// subscription's client checks that no update is missed or repeated), and every committed
// write leaves a line in r_audit (a mutation applied twice would leave two).

#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/private_cluster.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sql_retry.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr int hot_row = 0;      // every pusher adds 1 to its hits (a counter): row locks meet here
constexpr int probe_row = 100;  // written with plain SQL after each restart
constexpr int version_row = 101;  // pushed after each restart until a version comes back

void create_schema(const std::string& dsn) {
  exec_sql(dsn, R"sql(
    CREATE TABLE r_items (id int PRIMARY KEY, owner text NOT NULL, title text,
                          hits bigint NOT NULL DEFAULT 0, seq bigint NOT NULL DEFAULT 0);
    CREATE TABLE r_audit (id int NOT NULL, title text);
    CREATE FUNCTION r_bump() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.seq := OLD.seq + 1; RETURN NEW; END $$;
    CREATE TRIGGER r_bump BEFORE UPDATE ON r_items FOR EACH ROW EXECUTE FUNCTION r_bump();
    CREATE FUNCTION r_audit() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO r_audit (id, title) VALUES (NEW.id, NEW.title); RETURN NULL; END $$;
    CREATE TRIGGER r_audit AFTER INSERT OR UPDATE ON r_items FOR EACH ROW EXECUTE FUNCTION r_audit();
    INSERT INTO r_items (id, owner, title) VALUES
      (0, 'u1', 'hot'), (1, 'u1', 'start'), (2, 'u1', 'start'), (3, 'u1', 'start'),
      (100, 'u1', 'probe'), (101, 'u1', 'start');
  )sql");
}

std::string sections() {
  return "[replication]\n"
         "slot = \"fs_restart\"\n"
         "publication = \"fs_restart\"\n"
         "[pulls]\n"
         // Longer than any wait below: a long-poll that misses the log's advance would sit
         // out the probe's deadline instead of answering at its own timeout.
         "long_poll_timeout_ms = 120000\n"
         "[mutations]\n"
         "version_wait_ms = 5000\n" +
         test_auth_toml() +
         "[collections.r_items]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"owner = $claims.sub\"\n"
         "write_scope = \"owner = $claims.sub\"\n"
         "[collections.r_items.merge.fields]\n"
         "hits = \"counter\"\n";
}

// What a pusher knows about the batches it got answered.
struct push_log {
  std::mutex mutex;
  std::vector<std::string> titles;  // one per acknowledged title mutation
  std::int64_t hot_increments = 0;  // acknowledged counter mutations
  std::int64_t versions = 0;        // written results that came with a version
  std::int64_t retries = 0;         // 503s, refused connections: the same batch again
  std::vector<std::string> errors;  // anything a correct server never answers

  void error(std::string e) {
    std::lock_guard lock(mutex);
    if (errors.size() < 20) errors.push_back(std::move(e));
  }
};

json::object title_mutation(std::int64_t id, int row, const std::string& title,
                            const std::string& before) {
  return json::object{
      {"mutation_id", id},    {"collection", "r_items"},   {"op", "update"},
      {"key", {{"id", row}}}, {"set", {{"title", title}}}, {"base", {{"title", before}}}};
}

json::object hot_mutation(std::int64_t id) {
  return json::object{{"mutation_id", id},    {"collection", "r_items"},
                      {"op", "update"},       {"key", {{"id", hot_row}}},
                      {"set", {{"hits", 1}}}, {"base", {{"hits", 0}}}};
}

// Checks the answer to one batch of two mutations (the title, then the counter); returns
// how many of its written results carried a version. A retried batch may find itself
// applied already: duplicate, with the original result.
std::int64_t check_results(const json::object& answer, push_log& log, const std::string& who) {
  std::int64_t versions = 0;
  const auto& results = answer.at("results").as_array();
  if (results.size() != 2) log.error(who + ": " + json::serialize(answer));
  for (const auto& r : results) {
    const auto* o = &r.as_object();
    if (o->at("status") == "duplicate") {
      if (!o->at("original").is_object()) {
        log.error(who + ": a duplicate without its original: " + json::serialize(*o));
        continue;
      }
      o = &o->at("original").as_object();
    }
    const auto& status = o->at("status");
    if (status != "applied" && status != "merged") {
      log.error(who + ": " + json::serialize(*o));
      continue;
    }
    if (o->contains("version") && !o->at("version").is_null()) ++versions;
  }
  return versions;
}

// Pushes batches over HTTP until `stop`; a batch that was not answered with 200 goes again
// unchanged (same mutation ids) until it is.
void http_pusher(std::uint16_t port, const std::string& client, int row,
                 const std::atomic<bool>& stop, const std::atomic<bool>& abort, push_log& log) {
  std::string before = "start";
  std::int64_t next_id = 1;
  for (int n = 0; !stop; ++n) {
    const auto title = client + "-" + std::to_string(n);
    json::value batch = json::object{
        {"client_id", client},
        {"mutations",
         json::array{title_mutation(next_id, row, title, before), hot_mutation(next_id + 1)}}};
    const auto body = json::serialize(batch);
    const auto deadline = steady::now() + 120s;
    for (;;) {
      if (abort) return;
      if (steady::now() > deadline) return log.error(client + ": batch never answered: " + body);
      http_reply r;
      try {
        r = http_call(port, http::verb::post, "/v1/mutations", body,
                      {{"Authorization", "Bearer " + hs256_token({{"sub", "u1"}})},
                       {"Content-Type", "application/json"}},
                      60s);
      } catch (const std::exception& e) {
        // The server never goes away here: an answer that does not come is a hang.
        log.error(client + ": no answer: " + e.what());
        continue;
      }
      if (r.status == 503) {
        std::lock_guard lock(log.mutex);
        ++log.retries;
      } else if (r.status == 200) {
        auto versions = check_results(r.json().as_object(), log, client);
        std::lock_guard lock(log.mutex);
        log.titles.push_back(title);
        ++log.hot_increments;
        log.versions += versions;
        break;
      } else {
        return log.error(client + ": HTTP " + std::to_string(r.status) + " " + r.body);
      }
      std::this_thread::sleep_for(50ms);
    }
    before = title;
    next_id += 2;
  }
}

// The same over the WebSocket `push`; the connection stays up while PostgreSQL restarts.
void ws_pusher(std::uint16_t port, const std::string& client, int row,
               const std::atomic<bool>& stop, const std::atomic<bool>& abort, push_log& log) {
  std::unique_ptr<sync_client> c;
  try {
    c = std::make_unique<sync_client>(port, hs256_token({{"sub", "u1"}}), client);
  } catch (const std::exception& e) {
    return log.error(client + ": " + e.what());
  }
  std::string before = "start";
  std::int64_t next_id = 1;
  for (int n = 0; !stop; ++n) {
    const auto title = client + "-" + std::to_string(n);
    json::object push{{"type", "push"},
                      {"id", n},
                      {"mutations", json::array{title_mutation(next_id, row, title, before),
                                                hot_mutation(next_id + 1)}}};
    const auto deadline = steady::now() + 120s;
    for (;;) {
      if (abort) return;
      if (steady::now() > deadline) return log.error(client + ": push never answered");
      c->raw().send(json::serialize(push));
      auto answer = c->next(60s);
      if (!answer) return log.error(client + ": the session closed or the answer did not come");
      if (answer->at("type") == "push_result") {
        auto versions = check_results(*answer, log, client);
        std::lock_guard lock(log.mutex);
        log.titles.push_back(title);
        ++log.hot_increments;
        log.versions += versions;
        break;
      }
      const auto code = answer->contains("code") ? std::string(answer->at("code").as_string()) : "";
      if (answer->at("type") != "error" ||
          (code != "database_unavailable" && code != "row_locked")) {
        return log.error(client + ": " + json::serialize(*answer));
      }
      {
        std::lock_guard lock(log.mutex);
        ++log.retries;
      }
      std::this_thread::sleep_for(50ms);
    }
    before = title;
    next_id += 2;
  }
}

// The rows of r_items as {id: {title, hits, seq}}, from a follower's JSON rows or the table.
using table_rows = std::map<std::string, std::string>;

std::string signature(const json::object& row) {
  return json::serialize(row.at("title")) + "|" + json::serialize(row.at("hits")) + "|" +
         json::serialize(row.at("seq"));
}

table_rows table_of(const std::string& dsn) {
  table_rows out;
  auto rows = json::parse(query_value(dsn,
                                      "SELECT json_agg(json_build_object('id', id, 'title', title, "
                                      "'hits', hits, 'seq', seq)) FROM r_items"));
  for (const auto& r : rows.as_array()) {
    out[std::to_string(r.at("id").as_int64())] = signature(r.as_object());
  }
  return out;
}

// A follower's view, shared with the test thread.
struct follower_state {
  std::mutex mutex;
  table_rows rows;
  std::vector<std::string> errors;
  std::size_t resets = 0;
  std::size_t unavailable = 0;  // subscriptions ended with `unavailable`, then resumed

  std::string title_of(int id) {
    std::lock_guard lock(mutex);
    auto it = rows.find(std::to_string(id));
    if (it == rows.end()) return {};
    return it->second.substr(0, it->second.find('|'));
  }
  void error(std::string e) {
    std::lock_guard lock(mutex);
    if (errors.size() < 20) errors.push_back(std::move(e));
  }
};

// A live WebSocket subscription to r_items, held until `stop` (and a message after it: a
// read of the test client cannot be interrupted without breaking its session).
void subscriber(std::uint16_t port, const std::atomic<bool>& stop, const std::atomic<bool>& abort,
                follower_state& out) {
  try {
    sync_client c(port, hs256_token({{"sub", "u1"}}), "watcher");
    c.seq_column = "seq";
    c.subscribe("items", "r_items");
    std::size_t errors = 0, protocol_errors = 0;
    auto publish = [&] {
      std::lock_guard lock(out.mutex);
      out.rows.clear();
      for (const auto& [key, row] : c.view("items").rows) out.rows[key] = signature(row);
      out.resets = c.view("items").resets;
      for (; errors < c.errors().size(); ++errors) {
        if (out.errors.size() < 20) out.errors.push_back(c.errors()[errors]);
      }
      bool ended = false;
      for (; protocol_errors < c.protocol_errors().size(); ++protocol_errors) {
        const auto& e = c.protocol_errors()[protocol_errors];
        // The answer while the database restarts: the subscription ended, and a client
        // subscribes again from its cursor shortly (docs/protocol.md, "unavailable").
        if (const auto* code = e.if_contains("code"); code && *code == "unavailable") {
          ended = true;
          ++out.unavailable;
          continue;
        }
        if (out.errors.size() < 20) out.errors.push_back("error message: " + json::serialize(e));
      }
      if (ended && !stop && !abort) {
        std::this_thread::sleep_for(200ms);
        c.resubscribe("items");
      }
      return stop.load() || abort.load();
    };
    c.run_until(publish, 1h);
    if (!stop && !abort) out.error("the subscription's session ended");
  } catch (const std::exception& e) {
    out.error(std::string("subscriber: ") + e.what());
  }
}

// Follows the change log with live long-polls until `stop`: a snapshot first, then the
// changes after each answer's cursor. A failed poll is repeated with the same cursor.
void long_poller(std::uint16_t port, const std::atomic<bool>& stop, const std::atomic<bool>& abort,
                 follower_state& out) {
  const headers auth{{"Authorization", "Bearer " + hs256_token({{"sub", "u1"}})}};
  std::string cursor;
  std::map<std::string, json::object> rows;
  while (!stop && !abort) {
    std::string target = "/v1/collections/r_items/changes?limit=1000";
    if (!cursor.empty()) target += "&live=true&cursor=" + url_encode(cursor);
    http_reply r;
    try {
      r = http_call(port, http::verb::get, target, {}, auth, 150s);
    } catch (const std::exception& e) {
      out.error(std::string("long-poll without an answer: ") + e.what());
      continue;
    }
    if (r.status == 503) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    if (r.status != 200) {
      out.error("long-poll: HTTP " + std::to_string(r.status) + " " + r.body);
      if (r.status == 409) {
        std::lock_guard lock(out.mutex);
        ++out.resets;
        cursor.clear();
        rows.clear();
      }
      continue;
    }
    auto body = r.json().as_object();
    for (const auto& ch : body.at("changes").as_array()) {
      const auto& c = ch.as_object();
      std::string key(c.at("key").as_string());
      if (c.at("op") == "delete") {
        rows.erase(key);
        continue;
      }
      const auto& row = c.at("row").as_object();
      auto held = rows.find(key);
      if (held != rows.end() && !body.at("snapshot").as_bool() &&
          row.at("seq").as_int64() <= held->second.at("seq").as_int64()) {
        out.error("long-poll: row " + key + " went from seq " +
                  json::serialize(held->second.at("seq")) + " to " +
                  json::serialize(row.at("seq")));
      }
      rows[key] = row;
    }
    cursor = std::string(body.at("cursor").as_string());
    std::lock_guard lock(out.mutex);
    out.rows.clear();
    for (const auto& [key, row] : rows) out.rows[key] = signature(row);
  }
}

// fieldsync's sessions (application_name fieldsync) idle inside a transaction.
std::string idle_in_transaction(const std::string& dsn, const std::string& older_than) {
  return query_value(dsn,
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fieldsync' "
                     "AND state LIKE 'idle in transaction%' AND state_change < now() - interval '" +
                         older_than + "'");
}

std::string admin_status(server_process& server) {
  auto r = http_call(server.admin_port(), http::verb::get, "/admin/v1/status", {},
                     {{"Authorization", std::string("Bearer ") + test_admin_token}});
  return r.body;
}

// The last lines of the server's log, for failure messages.
std::string log_tail(server_process& server, std::size_t lines = 60) {
  auto text = server.process().transcript();
  std::size_t at = text.size();
  for (std::size_t n = 0; n <= lines && at != std::string::npos && at > 0; ++n)
    at = text.rfind('\n', at - 1);
  return at == std::string::npos ? text : text.substr(at + 1);
}

// What a follower saw go wrong, for failure messages.
std::string follower_report(follower_state& f, const std::string& name) {
  std::lock_guard lock(f.mutex);
  std::string out = name + ": " + std::to_string(f.resets) + " resets, " +
                    std::to_string(f.unavailable) + " times unavailable, " +
                    std::to_string(f.errors.size()) + " errors";
  for (const auto& e : f.errors) out += "\n  " + e;
  return out + "\n";
}

void wait_for(const std::function<bool()>& done, std::chrono::seconds timeout,
              const std::string& what, server_process* server = nullptr,
              std::vector<std::pair<follower_state*, std::string>> followers = {}) {
  const auto deadline = steady::now() + timeout;
  while (!done()) {
    if (steady::now() > deadline) {
      std::string seen;
      for (auto& [f, name] : followers) seen += follower_report(*f, name);
      FAIL("timed out waiting for "
           << what << "\n"
           << seen << (server ? "the server's log ends:\n" + log_tail(*server) : ""));
    }
    std::this_thread::sleep_for(20ms);
  }
}

// The test's threads, ended however the test ends: a failed check in the middle kills the
// server, so that every blocked call returns at once, and tells the threads to give up.
struct workers {
  explicit workers(server_process& s) : server(s) {}
  server_process& server;
  std::atomic<bool> abort{false};
  std::vector<std::thread> threads;

  ~workers() {
    bool running = false;
    for (auto& t : threads) running = running || t.joinable();
    if (!running) return;
    abort = true;
    server.process().signal(SIGKILL);
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

}  // namespace

TEST_CASE(
    "PostgreSQL restarting 20 times under mutations, subscriptions and long-polls leaves nothing "
    "hanging",
    "[e2e][restart]") {
  // synchronous_commit on: an immediate shutdown may lose asynchronously committed
  // transactions, which would make an acknowledged mutation vanish for reasons of the test's
  // own making.
  private_cluster pg({"synchronous_commit = on"});
  const auto dsn = pg.conninfo();
  create_schema(dsn);
  server_process server(dsn, sections(), {{"FIELDSYNC_LOG_LEVEL", "debug"}});
  const auto port = server.public_port();
  wait_for(
      [&] {
        try {
          return query_value(dsn,
                             "SELECT count(*) FROM fieldsync.rows WHERE collection = 'r_items'") ==
                 "6";
        } catch (const std::exception&) {
          return false;
        }
      },
      60s, "the initial copy of r_items");

  std::atomic<bool> stop_pushers{false}, stop_followers{false};
  follower_state live, polled;
  push_log http_log, ws_log;
  workers w(server);
  w.threads.emplace_back([&] { subscriber(port, stop_followers, w.abort, live); });
  w.threads.emplace_back([&] { long_poller(port, stop_followers, w.abort, polled); });
  wait_for(
      [&] {
        return live.title_of(probe_row) == "\"probe\"" && polled.title_of(probe_row) == "\"probe\"";
      },
      60s, "the subscription's snapshot and the first long-poll");

  w.threads.emplace_back([&] { http_pusher(port, "http-1", 1, stop_pushers, w.abort, http_log); });
  w.threads.emplace_back([&] { http_pusher(port, "http-2", 2, stop_pushers, w.abort, http_log); });
  w.threads.emplace_back([&] { ws_pusher(port, "ws-1", 3, stop_pushers, w.abort, ws_log); });

  std::mt19937 rng(11);
  std::uniform_int_distribution<int> pause_ms(1000, 3000);
  std::int64_t version_probe_id = 1;
  std::string version_title = "start";
  steady::duration slowest{};
  for (int i = 0; i < 20; ++i) {
    const auto mode = i % 2 == 0 ? "fast" : "immediate";
    INFO("restart " << i + 1 << " (" << mode << ")");
    pg.cluster().restart(mode);
    const auto restarted = steady::now();
    const auto next_restart = restarted + std::chrono::milliseconds(pause_ms(rng));

    // Live changes flow again: a plain SQL write reaches the subscription and the long-poll.
    const auto probe = "probe-" + std::to_string(i);
    exec_retrying(
        dsn, "UPDATE r_items SET title = '" + probe + "' WHERE id = " + std::to_string(probe_row));
    const std::vector<std::pair<follower_state*, std::string>> followers{
        {&live, "the live subscription"}, {&polled, "the long-poll"}};
    wait_for([&] { return live.title_of(probe_row) == "\"" + probe + "\""; }, 30s,
             "the probe write on the live subscription", &server, followers);
    wait_for([&] { return polled.title_of(probe_row) == "\"" + probe + "\""; }, 30s,
             "the probe write on the long-poll", &server, followers);

    // Versions are named again: a push is answered with the version its write made.
    bool named = false;
    const auto deadline = steady::now() + 30s;
    while (!named && steady::now() < deadline) {
      const auto title = "v-" + std::to_string(version_probe_id);
      json::value batch = json::object{
          {"client_id", "prober"},
          {"mutations",
           json::array{title_mutation(version_probe_id, version_row, title, version_title)}}};
      auto r = http_call(port, http::verb::post, "/v1/mutations", json::serialize(batch),
                         {{"Authorization", "Bearer " + hs256_token({{"sub", "u1"}})},
                          {"Content-Type", "application/json"}},
                         60s);
      if (r.status != 200) {
        REQUIRE(r.status == 503);  // the same batch again
        std::this_thread::sleep_for(100ms);
        continue;
      }
      ++version_probe_id;
      version_title = title;
      const auto answer = r.json();
      const auto& result = answer.at("results").as_array().at(0).as_object();
      CHECK((result.at("status") == "applied" || result.at("status") == "duplicate"));
      named = result.at("status") == "applied" && !result.at("version").is_null();
    }
    if (!named) FAIL_CHECK("no version named; the server's log ends:\n" << log_tail(server));
    slowest = std::max(slowest, steady::now() - restarted);

    // Nothing of fieldsync's stays idle in a transaction (a mutation's transaction is idle
    // only between its two round trips).
    CHECK(idle_in_transaction(dsn, "5 seconds") == "0");
    std::this_thread::sleep_until(next_restart);
  }
  WARN("the slowest recovery (restart to probes through) took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() << " ms");

  stop_pushers = true;
  for (std::size_t t = 2; t < w.threads.size(); ++t) w.threads[t].join();
  for (auto* log : {&http_log, &ws_log}) {
    INFO("pusher errors: " << log->errors.size());
    for (const auto& e : log->errors) FAIL_CHECK(e);
  }

  // Every acknowledged mutation was applied once: its title is in the audit once, and the
  // counter holds one increment per acknowledged counter mutation.
  std::int64_t increments = http_log.hot_increments + ws_log.hot_increments;
  std::set<std::string> acknowledged(http_log.titles.begin(), http_log.titles.end());
  acknowledged.insert(ws_log.titles.begin(), ws_log.titles.end());
  CHECK(acknowledged.size() == http_log.titles.size() + ws_log.titles.size());
  auto audit = json::parse(query_value(
      dsn,
      "SELECT coalesce(json_object_agg(title, n), '{}') FROM "
      "(SELECT title, count(*) AS n FROM r_audit WHERE id IN (1, 2, 3) GROUP BY title) t"));
  std::size_t once = 0;
  for (const auto& title : acknowledged) {
    const auto* n = audit.as_object().if_contains(title);
    if (n && n->as_int64() == 1) {
      ++once;
    } else {
      FAIL_CHECK("mutation " << title << " applied " << (n ? n->as_int64() : 0) << " times");
    }
  }
  CHECK(once == acknowledged.size());
  CHECK(query_value(dsn, "SELECT hits FROM r_items WHERE id = 0") == std::to_string(increments));
  WARN(acknowledged.size() << " batches acknowledged (" << http_log.retries + ws_log.retries
                           << " retried), " << http_log.versions + ws_log.versions
                           << " results with versions");
  CHECK(acknowledged.size() > 20);

  // Both followers converge on the table, with no gap, duplicate or reset on the way.
  exec_retrying(dsn, "UPDATE r_items SET title = 'final' WHERE id = " + std::to_string(probe_row));
  const auto truth = table_of(dsn);
  wait_for(
      [&] {
        std::scoped_lock lock(live.mutex, polled.mutex);
        return live.rows == truth && polled.rows == truth;
      },
      60s, "the subscription and the long-poll to hold the table");
  stop_followers = true;
  exec_sql(dsn, "UPDATE r_items SET title = 'stop' WHERE id = " +
                    std::to_string(probe_row));  // ends the long-poll
  w.threads[0].join();
  w.threads[1].join();
  for (auto* f : {&live, &polled}) {
    for (const auto& e : f->errors) FAIL_CHECK(e);
    CHECK(f->resets == 0);
  }

  wait_for([&] { return idle_in_transaction(dsn, "0 seconds") == "0"; }, 30s,
           "fieldsync's sessions to leave their transactions");
  // Every client has gone: so have their connections (the one counted is this request's).
  const auto drain_deadline = steady::now() + 30s;
  for (;;) {
    const auto status = admin_status(server);
    const auto c = json::parse(status).at("connections");
    if (c.at("http").as_int64() <= 1 && c.at("websocket").as_int64() == 0) break;
    if (steady::now() > drain_deadline) {
      FAIL("the clients' connections did not end: " << status << "; the server's log ends:\n"
                                                    << log_tail(server));
    }
    std::this_thread::sleep_for(20ms);
  }
  CHECK(server.terminate() == 0);
  const bool drained = server.process().transcript().find("shutdown timeout") == std::string::npos;
  if (!drained)
    FAIL_CHECK("the shutdown timed out; the server's log ends:\n" << log_tail(server, 30));
}
