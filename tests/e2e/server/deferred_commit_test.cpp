// PostgreSQL crashing between the change log's deferred commits and their flush (issue 16,
// decision 2; storage/change_log_writer.hpp). The ingest commits a batch without waiting
// for its WAL flush while a whole batch waits behind it, and tells the slot only flushed
// positions. A crash before the flush takes the batch away; the slot then sends it again
// and the log writes it with the same positions. Readers may have seen it (a pull reads
// what is committed), so every cursor a client holds must resume, and no client may skip
// or repeat a change:
//   - a pull follower (non-live pulls, as an integration does) keeps its cursor across the
//     crashes: a cursor ahead of the log is told to retry (503), never reset (409);
//   - a WebSocket subscription stays open through the crashes (the server keeps running)
//     and is checked by sync_client on every message (no gap in `seq`, nothing twice);
//   - a second subscription resumes from the pull follower's cursor after every crash;
//   - all of them end with exactly the table.
// The crash is aimed: the WAL writer is stopped (SIGSTOP) for each round, so the ingest's
// deferred commits stay in PostgreSQL's WAL buffers (64 MB: no backend has to write them
// out), and once the pull follower has read past the round's last flushed commit while the
// ingest is still behind, the WAL writer gets kill -9: PostgreSQL restarts every process
// and the buffers are gone. How many rounds lost a batch a client had read is reported.

#include "protocol/cursor.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/private_cluster.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sql_retry.hpp"
#include "tests/support/stop_and_join.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

// Rounds of writes, each ended by a crash: at least min_rounds, and more (up to max_rounds)
// until two of them took away a batch a client had read (the crash is aimed, but the
// ingest can catch up first: about half of them do).
constexpr int min_rounds = 4;
constexpr int max_rounds = 20;
constexpr int rows_per_round = 1000;  // inserted, then updated 4 times: 5,000 changes a round

std::string sections() {
  return "[replication]\n"
         "slot = \"fs_deferred\"\n"
         "publication = \"fs_deferred\"\n"
         "reconnect_min_ms = 50\n"
         "reconnect_max_ms = 500\n"
         // Small batches: many commits, most of them deferred while the backlog lasts.
         "batch_max_changes = 100\n" +
         test_auth_toml() +
         "[collections.d_items]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"owner = $claims.sub\"\n";
}

void create_schema(const std::string& dsn) {
  exec_sql(dsn, R"sql(
    CREATE TABLE d_items (id int PRIMARY KEY, owner text NOT NULL, n int NOT NULL DEFAULT 0,
                          seq bigint NOT NULL DEFAULT 0);
    CREATE FUNCTION d_bump() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.seq := OLD.seq + 1; RETURN NEW; END $$;
    CREATE TRIGGER d_bump BEFORE UPDATE ON d_items FOR EACH ROW EXECUTE FUNCTION d_bump();
  )sql");
}

// One round of writes: transactions of 50 rows each, committed one by one (each waits for
// its own flush, as applications' commits do; the ingest's later commits then do not).
std::string round_sql(int round) {
  const int first = round * rows_per_round;
  return "DO $$ BEGIN "
         "FOR b IN 0.." +
         std::to_string(rows_per_round / 50 - 1) +
         " LOOP "
         "INSERT INTO d_items (id, owner) SELECT " +
         std::to_string(first) +
         " + b * 50 + g, 'u1' FROM generate_series(0, 49) g; COMMIT; END LOOP; "
         "FOR k IN 1..4 LOOP FOR b IN 0.." +
         std::to_string(rows_per_round / 50 - 1) +
         " LOOP UPDATE d_items SET n = n + 1 WHERE id >= " + std::to_string(first) +
         " + b * 50 AND id < " + std::to_string(first) +
         " + b * 50 + 50; COMMIT; END LOOP; "
         "END LOOP; END $$";
}

// id -> "n/seq"
using table_rows = std::map<std::string, std::string>;

table_rows table_of(const std::string& dsn) {
  table_rows out;
  auto text = query_value_retrying(
      dsn,
      "SELECT coalesce(string_agg(id || '=' || n || '/' || seq, ',' ORDER BY id), '') "
      "FROM d_items");
  std::size_t at = 0;
  while (at < text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    auto item = text.substr(at, comma - at);
    auto eq = item.find('=');
    out[item.substr(0, eq)] = item.substr(eq + 1);
    at = comma + 1;
  }
  return out;
}

fieldsync::protocol::lsn lsn_of(const std::string& text) {
  auto l = fieldsync::protocol::lsn::parse(text);
  REQUIRE(l);
  return *l;
}

std::string signature(const json::object& row) {
  return json::serialize(row.at("n")) + "/" + json::serialize(row.at("seq"));
}

// Pulls the changes of d_items as an integration does, keeping its cursor through every
// crash. Checks: positions only grow, every update is the held copy's seq + 1, nothing
// is reset.
struct pull_follower {
  std::mutex mutex;
  std::string cursor;
  std::map<std::string, json::object> held_rows;  // as of `cursor`
  table_rows rows;
  std::vector<std::string> errors;
  std::size_t catching_up = 0;  // 503 log_catching_up answers
  std::size_t unavailable = 0;  // other 503s and connection failures (PostgreSQL away)

  void error(std::string e) {
    std::lock_guard lock(mutex);
    if (errors.size() < 20) errors.push_back(std::move(e));
  }
  std::string cursor_now() {
    std::lock_guard lock(mutex);
    return cursor;
  }
  // The cursor and the rows a client holds there.
  std::pair<std::string, std::map<std::string, json::object>> position() {
    std::lock_guard lock(mutex);
    return {cursor, held_rows};
  }

  void run(std::uint16_t port, const std::atomic<bool>& stop) {
    const headers auth{{"Authorization", "Bearer " + hs256_token({{"sub", "u1"}})}};
    std::map<std::string, json::object> held;
    std::string at;
    while (!stop) {
      std::string target = "/v1/collections/d_items/changes?limit=500";
      if (!at.empty()) target += "&cursor=" + url_encode(at);
      http_reply r;
      try {
        r = http_call(port, http::verb::get, target, {}, auth, 30s);
      } catch (const std::exception&) {
        ++unavailable;
        std::this_thread::sleep_for(50ms);
        continue;
      }
      if (r.status == 503) {
        std::lock_guard lock(mutex);
        if (r.body.find("log_catching_up") != std::string::npos) {
          ++catching_up;
        } else {
          ++unavailable;
        }
        std::this_thread::sleep_for(50ms);
        continue;
      }
      if (r.status != 200) {
        error("pull: HTTP " + std::to_string(r.status) + " " + r.body);
        std::this_thread::sleep_for(200ms);
        continue;
      }
      auto body = r.json().as_object();
      const bool snapshot = body.at("snapshot").as_bool();
      table_rows changed;
      for (const auto& ch : body.at("changes").as_array()) {
        const auto& c = ch.as_object();
        std::string key(c.at("key").as_string());
        const auto& row = c.at("row").as_object();
        auto h = held.find(key);
        if (!snapshot && c.at("op") == "insert" && h != held.end()) {
          error("pull: insert of row " + key + ", which it holds");
        }
        if (!snapshot && c.at("op") == "update") {
          if (h == held.end()) {
            error("pull: update of row " + key + ", which it does not hold");
          } else if (row.at("seq").as_int64() != h->second.at("seq").as_int64() + 1) {
            error("pull: row " + key + " went from seq " + json::serialize(h->second.at("seq")) +
                  " to " + json::serialize(row.at("seq")));
          }
        }
        held[key] = row;
        changed[key] = signature(row);
      }
      at = std::string(body.at("cursor").as_string());
      const bool caught_up = body.at("changes").as_array().empty();
      {
        std::lock_guard lock(mutex);
        for (auto& [key, sig] : changed) rows[key] = std::move(sig);
        // A snapshot page's cursor continues the snapshot.
        if (!snapshot && cursor != at) {
          cursor = at;
          held_rows = held;
        }
      }
      // Caught up: look again soon (not live: the cursor must go through the crashes as an
      // integration's does).
      if (caught_up) std::this_thread::sleep_for(5ms);
    }
  }
};

// Reads `c` until `done`; a subscription ended by `unavailable` (PostgreSQL away, or the log
// catching up to its cursor) subscribes again from its cursor. Any other error fails.
bool follow(sync_client& c, const std::string& id, const std::function<bool()>& done) {
  const auto deadline = steady::now() + 120s;
  while (!done() && steady::now() < deadline) {
    c.run_until([&] { return done() || !c.protocol_errors().empty(); }, 120s);
    if (c.protocol_errors().empty()) continue;
    for (const auto& e : c.protocol_errors()) {
      if (e.at("code") != "unavailable") {
        FAIL_CHECK("subscription error: " << json::serialize(e));
        return false;
      }
    }
    c.protocol_errors().clear();
    std::this_thread::sleep_for(200ms);
    c.resubscribe(id);
  }
  return done();
}

table_rows rows_of(const sync_view& v) {
  table_rows out;
  for (const auto& [key, row] : v.rows) out[key] = signature(row);
  return out;
}

// The row written last in a round: the highest id.
std::string newest_key(const table_rows& truth) {
  std::string newest;
  for (const auto& [key, sig] : truth) {
    if (newest.empty() || std::stol(key) > std::stol(newest)) newest = key;
  }
  return newest;
}

// Whether the view holds exactly `truth`. Runs after every message: the newest row first.
bool holds(const sync_view& v, const table_rows& truth, const std::string& newest) {
  if (v.rows.size() != truth.size()) return false;
  auto it = v.rows.find(newest);
  if (it == v.rows.end() || signature(it->second) != truth.at(newest)) return false;
  return rows_of(v) == truth;
}

}  // namespace

TEST_CASE(
    "e2e: PostgreSQL crashing right after the change log's deferred commits: every cursor "
    "resumes, nothing is skipped or repeated",
    "[e2e][crash]") {
  private_cluster pg({"synchronous_commit = on", "wal_buffers = 64MB", "autovacuum = off",
                      "restart_after_crash = on"});
  const auto dsn = pg.conninfo();
  create_schema(dsn);
  // The node heartbeat's commits would flush the WAL now and then: off.
  server_process server(dsn, sections(), {{"FIELDSYNC_SERVER_HEARTBEAT_INTERVAL_MS", "3600000"}});
  const auto port = server.public_port();

  pull_follower puller;
  std::atomic<bool> stop{false};
  std::thread pulling([&] { puller.run(port, stop); });
  stop_and_join join_puller{stop, pulling};

  sync_client live(port, hs256_token({{"sub", "u1"}}), "live");
  live.seq_column = "seq";
  live.subscribe("s", "d_items");
  // (The log may not be ready yet: `unavailable`, and follow subscribes again.)
  REQUIRE(follow(live, "s", [&] { return live.view("s").up_to_date; }));

  int lost = 0;  // crashes after which a client held a cursor ahead of the log
  int rounds = 0;
  for (; rounds < max_rounds && (rounds < min_rounds || lost < 2); ++rounds) {
    const int round = rounds;
    INFO("round " << round);
    // The WAL writer stops: from here on WAL reaches the disk only with a commit that waits
    // for it (the round's own, or the ingest's when its backlog is done); the ingest's
    // deferred commits stay in PostgreSQL's WAL buffers.
    const auto walwriter_sql = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'";
    const auto walwriter = std::stoi(query_value_retrying(dsn, walwriter_sql));
    REQUIRE(::kill(walwriter, SIGSTOP) == 0);
    exec_retrying(dsn, round_sql(round));
    const auto end = query_value_retrying(dsn, "SELECT pg_current_wal_insert_lsn()::text");
    const auto high_sql = "SELECT high_lsn::text FROM fieldsync.state";
    // As soon as the pull follower has read something the ingest committed after the
    // round's last commit, while the ingest is still behind (its commits are deferred),
    // kill -9 the WAL writer: PostgreSQL restarts every process and the WAL buffers are gone.
    const auto flushed = lsn_of(query_value_retrying(dsn, high_sql));
    const auto last = lsn_of(end);
    const auto deadline = steady::now() + 60s;
    while (steady::now() < deadline) {
      const auto read = fieldsync::protocol::cursor::parse(puller.cursor_now());
      if (read && read->position > flushed) break;
      if (!(lsn_of(query_value_retrying(dsn, high_sql)) < last)) break;  // caught up: too late
    }
    REQUIRE(::kill(walwriter, SIGKILL) == 0);
    const auto restart_deadline = steady::now() + 60s;
    for (;;) {
      std::string now;
      try {
        now = query_value(dsn, walwriter_sql);
      } catch (const std::exception&) {
      }
      if (!now.empty() && now != std::to_string(walwriter)) break;
      REQUIRE(steady::now() < restart_deadline);
      std::this_thread::sleep_for(20ms);
    }
    const auto recovered = query_value_retrying(dsn, high_sql);
    const auto [held, held_rows] = puller.position();
    const auto parsed = fieldsync::protocol::cursor::parse(held);
    if (parsed && parsed->position > lsn_of(recovered)) ++lost;
    // A second client resumes from the pull follower's cursor: it waits for the log to
    // write the lost batch again (unavailable: retry), never resets.
    if (!held.empty()) {
      sync_client resumer(port, hs256_token({{"sub", "u1"}}), "resumer");
      resumer.seq_column = "seq";
      resumer.view("r").rows = held_rows;  // what a client holds at that cursor
      resumer.subscribe("r", "d_items", "", held);
      CHECK(follow(resumer, "r", [&] { return resumer.view("r").up_to_date; }));
      CHECK(resumer.view("r").resets == 0);
      CHECK(resumer.view("r").snapshot_rows == 0);
      for (const auto& e : resumer.errors()) UNSCOPED_INFO(e);
      CHECK(resumer.errors().empty());
    }
    // The live subscription, open through the crash, gets the round's changes.
    const auto now = table_of(dsn);
    const auto newest = newest_key(now);
    CHECK(follow(live, "s", [&] { return holds(live.view("s"), now, newest); }));
  }

  // Everything converges on the table.
  const auto truth = table_of(dsn);
  REQUIRE(truth.size() == static_cast<std::size_t>(rounds * rows_per_round));
  const auto deadline = steady::now() + 120s;
  auto converged = [&] {
    std::lock_guard lock(puller.mutex);
    return puller.rows == truth;
  };
  while (!converged() && steady::now() < deadline) std::this_thread::sleep_for(50ms);
  CHECK(converged());
  CHECK(rows_of(live.view("s")) == truth);
  stop = true;
  pulling.join();

  for (const auto& e : live.errors()) UNSCOPED_INFO(e);
  CHECK(live.errors().empty());
  CHECK(live.view("s").resets == 0);
  for (const auto& e : puller.errors) UNSCOPED_INFO(e);
  CHECK(puller.errors.empty());
  // The crashes did what the test is about: a client read a batch that a crash then took away.
  CHECK(lost > 0);
  WARN(rounds << " crashes; after " << lost
              << " of them the pull follower held a cursor ahead of the recovered log; "
              << puller.catching_up << " pulls were told the log is catching up");
  CHECK(server.terminate() == 0);
}
