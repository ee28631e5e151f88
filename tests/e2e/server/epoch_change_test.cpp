// Epoch change under load (issue 11, item 4): clients mid long-poll (delta pulls and the
// Shape API) and mid WebSocket resume while the slot is lost and the server restarts.
//
// Server A runs under random writes; the clients sync. A stops, its slot is dropped, and
// B starts on the same log while a reader of the log holds `changes` (the lock order of the
// deadlock the issue saw): B finds history lost, but its reset cannot take its locks, so B
// serves the old epoch meanwhile, and every client but the late ones reaches B and waits
// there (a long-poll, a live subscription) with a position of the old epoch. The reader then
// reads the state and ends (no deadlock), the reset commits, and the late clients come back
// only now, with cursors of the old epoch ("in the first moments after the restart").
// Afterwards:
//   - every client got exactly one reset (409 reset, 409 must-refetch, WebSocket reset),
//     was never answered with an old-epoch position after the new epoch was committed,
//     saw two epochs only, and holds exactly the source table's rows of its scope;
//   - B started one epoch, however often its reset had to give way and try again, and said
//     HISTORY LOST once (never "restored from a backup": its own slot is not evidence).
// A long-poll that the new epoch does not end would hang until long_poll_timeout_ms (ten
// minutes): the clients give up after 140 s and record that as a failure.
//
// Twice: with the writers writing throughout, and with them paused from before the restart
// until every client is in the new epoch. In the second, nothing but the reset itself can
// tell a waiting client (a change of the new epoch would wake a long-poll and the hub too):
// that is how a long-poll came to be answered with the old handle after its full timeout.

#include "protocol/cursor.hpp"
#include "server/pull/shape_offset.hpp"
#include "storage/log_state.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/pull_fixture.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_to.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
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
using fieldsync::protocol::cursor;

namespace {

using steady = std::chrono::steady_clock;

// Every client thread ends by then, done or with an error recorded.
constexpr auto client_deadline = 240s;
// A request (a long-poll included) not answered this long is a failure.
constexpr auto answer_deadline = 140s;
constexpr std::int64_t wake_id = 100000;

headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

template <typename F>
void wait_until(F done, std::chrono::seconds timeout, const char* what,
                const std::function<std::string()>& state = {}) {
  auto deadline = steady::now() + timeout;
  while (!done()) {
    if (steady::now() > deadline)
      FAIL("timed out waiting: " << what << "\n" << (state ? state() : ""));
    std::this_thread::sleep_for(20ms);
  }
}

// Inserts, updates that move rows between territories 1-4 (in and out of the clients'
// scope, 1 and 2), stage changes, deletes; some transactions touch several rows.
void random_writes(const std::string& dsn, std::uint64_t seed, const std::atomic<bool>& stop) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  const char* stages[] = {"lead", "proposal", "won", "lost"};
  while (!stop) {
    std::string sql = "BEGIN;";
    for (int i = 0, n = 1 + pick(3); i < n; ++i) {
      auto id = std::to_string(1 + pick(300));
      switch (pick(4)) {
        case 0:
          sql += "DELETE FROM pull_accounts WHERE id = " + id + ";";
          break;
        case 1:
          sql += "UPDATE pull_accounts SET territory_id = " + std::to_string(1 + pick(4)) +
                 " WHERE id = " + id + ";";
          break;
        default:
          sql += "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (" + id + ", " +
                 std::to_string(1 + pick(4)) + ", '" + stages[pick(4)] +
                 "') ON CONFLICT (id) DO UPDATE SET stage = excluded.stage;";
      }
    }
    exec_sql(dsn, sql + "COMMIT");
    std::this_thread::sleep_for(5ms);
  }
}

// The random writers, started and stopped as the scenario needs.
class writer_pool {
 public:
  explicit writer_pool(std::string dsn) : dsn_(std::move(dsn)) {}
  ~writer_pool() { stop(); }
  void start(std::uint64_t seed) {
    stop_ = false;
    for (std::uint64_t i = 0; i < 2; ++i) {
      threads_.emplace_back([this, s = seed + i] { random_writes(dsn_, s, stop_); });
    }
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::string dsn_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// id -> "territory|stage", as text (the Shape API sends PostgreSQL's text; JSON numbers
// and strings print the same for these columns).
using row_map = std::map<std::string, std::string>;

std::string text_of(const json::value& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

std::string signature(const json::object& row) {
  return text_of(row.at("territory_id")) + "|" + text_of(row.at("stage"));
}

row_map expected_rows(const std::string& dsn) {
  auto text = query_value(dsn,
                          "SELECT coalesce(json_agg(json_build_object('id', id::text, "
                          "'territory_id', territory_id::text, 'stage', stage)), '[]') "
                          "FROM pull_accounts WHERE territory_id IN (1, 2)");
  row_map out;
  const auto parsed = json::parse(text);
  for (const auto& v : parsed.as_array()) {
    const auto& o = v.as_object();
    out[std::string(o.at("id").as_string())] = signature(o);
  }
  return out;
}

struct shared_state {
  std::atomic<bool> quit{false};           // the test failed: every client stops
  std::atomic<std::uint16_t> port{0};      // the server to talk to; 0 while there is none
  std::atomic<std::uint16_t> server_b{0};  // the restarted server's port
  std::atomic<std::int64_t> old_epoch{0};
  std::atomic<bool> epoch_ended{false};  // the test saw the new epoch committed
  std::atomic<bool> late_go{false};      // the late clients may come back
  std::atomic<bool> writers_stopped{false};

  void set_final(cursor c) {
    std::lock_guard lock(m);
    final_position = c;
  }
  std::optional<cursor> last_change() {
    std::lock_guard lock(m);
    return final_position;
  }

 private:
  std::mutex m;
  std::optional<cursor> final_position;  // the last change, in the new epoch
};

struct client_state {
  client_state(std::string n, bool l) : name(std::move(n)), late(l) {}
  std::string name;
  bool late;  // after syncing with A, comes back only once the new epoch is committed

  // Read by the test thread while the client runs.
  std::atomic<bool> synced{false};        // caught up (with A first)
  std::atomic<bool> waiting_at_b{false};  // answered by B in the old epoch: waits there now
  std::atomic<bool> in_new_epoch{false};  // answered in the new epoch
  std::atomic<bool> done{false};
  std::atomic<int> answers{0};  // positions received, for the log of a failure

  // Read by the test thread after the client's thread ended.
  std::size_t resets = 0;
  std::set<std::int64_t> epochs;  // of every position it was given
  row_map rows;
  std::vector<std::string> errors;

  void error(std::string e) {
    if (errors.size() < 20) errors.push_back(std::move(e));
  }

  // Every position an answer carries: `sent_after_end` when the request went out after the
  // new epoch was committed.
  void answered(const shared_state& sh, std::int64_t epoch, bool sent_after_end, std::uint16_t port,
                const std::string& what) {
    epochs.insert(epoch);
    ++answers;
    if (epoch == sh.old_epoch) {
      if (sent_after_end) {
        error(what + ": answered with a position of the old epoch after the new one began");
      }
      if (port == sh.server_b) waiting_at_b = true;
    } else {
      in_new_epoch = true;
    }
  }

  bool holding(const shared_state& sh) const { return late && synced && !sh.late_go; }
};

// GET /v1/collections/accounts/changes: snapshot, deltas, long-polls; a reset starts over.
void changes_client(shared_state& sh, client_state& c, const std::string& token) {
  const auto deadline = steady::now() + client_deadline;
  std::string position;     // the cursor (or snapshot token) to continue from
  bool catching_up = true;  // not live: after a (re)connect or a reset
  std::uint16_t last_port = 0;
  while (steady::now() < deadline && !sh.quit) {
    const auto port = sh.port.load();
    if (!port || c.holding(sh)) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    if (port != last_port) catching_up = true;
    last_port = port;
    const bool stopped = sh.writers_stopped;
    const auto fin = sh.last_change();
    const bool live = !catching_up && !stopped && !position.empty() && position[0] != 'S';
    std::string target = "/v1/collections/accounts/changes?limit=200";
    if (!position.empty()) target += "&cursor=" + url_encode(position);
    if (live) target += "&live=true";
    const bool after_end = sh.epoch_ended;
    const auto sent = steady::now();
    http_reply r;
    try {
      r = http_call(port, http::verb::get, target, {}, bearer(token), answer_deadline);
    } catch (const std::exception& e) {
      if (steady::now() - sent >= answer_deadline - 5s)
        c.error(target + ": not answered: " + e.what());
      std::this_thread::sleep_for(20ms);  // the server went away: wait for the next one
      continue;
    }
    if (r.status == 409) {
      ++c.resets;
      c.rows.clear();
      position.clear();
      catching_up = true;
      continue;
    }
    if (r.status == 503) {  // the log or the collection is not ready: as Retry-After says
      std::this_thread::sleep_for(50ms);
      continue;
    }
    if (r.status != 200) {
      c.error(target + ": " + std::to_string(r.status) + " " + r.body.substr(0, 200));
      std::this_thread::sleep_for(100ms);
      continue;
    }
    const auto body = r.json().as_object();
    for (const auto& e : body.at("changes").as_array()) {
      const auto& o = e.as_object();
      std::string key(o.at("key").as_string());
      if (o.at("op") == "upsert") {
        c.rows[key] = signature(o.at("row").as_object());
      } else if (c.rows.erase(key) == 0) {
        c.error("delete of a key not held: " + key);
      }
    }
    position = std::string(body.at("cursor").as_string());
    const bool has_more = body.at("has_more").as_bool();
    if (position[0] == 'S') continue;  // inside a snapshot
    auto at = cursor::parse(position);
    if (!at) {
      c.error("not a cursor: " + position);
      continue;
    }
    c.answered(sh, at->epoch, after_end, port, target);
    if (has_more) continue;
    catching_up = false;
    c.synced = true;
    if (fin && at->epoch == fin->epoch && !(at->position < fin->position)) {
      c.done = true;
      return;
    }
    if (stopped) std::this_thread::sleep_for(20ms);
  }
  c.error("did not finish in time");
}

// GET /v1/shape as @electric-sql/client uses it; must-refetch starts over.
void shape_client(shared_state& sh, client_state& c, const std::string& token) {
  using fieldsync::server::shape_handle;
  using fieldsync::server::shape_offset;
  const auto deadline = steady::now() + client_deadline;
  std::string handle, offset = "-1";
  bool catching_up = true, up_to_date = false;
  std::uint16_t last_port = 0;
  while (steady::now() < deadline && !sh.quit) {
    const auto port = sh.port.load();
    if (!port || c.holding(sh)) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    if (port != last_port) catching_up = true;
    last_port = port;
    const bool stopped = sh.writers_stopped;
    const auto fin = sh.last_change();
    const bool live = up_to_date && !catching_up && !stopped;
    std::string target = "/v1/shape?table=accounts&offset=" + url_encode(offset);
    if (!handle.empty()) target += "&handle=" + url_encode(handle);
    if (live) target += "&live=true";
    const bool after_end = sh.epoch_ended;
    const auto sent = steady::now();
    http_reply r;
    try {
      r = http_call(port, http::verb::get, target, {}, bearer(token), answer_deadline);
    } catch (const std::exception& e) {
      if (steady::now() - sent >= answer_deadline - 5s)
        c.error(target + ": not answered: " + e.what());
      std::this_thread::sleep_for(20ms);
      continue;
    }
    if (r.status == 409) {  // must-refetch: drop everything, sync again from the start
      ++c.resets;
      c.rows.clear();
      handle.clear();
      offset = "-1";
      up_to_date = false;
      catching_up = true;
      continue;
    }
    if (r.status == 503) {
      std::this_thread::sleep_for(50ms);
      continue;
    }
    if (r.status != 200) {
      c.error(target + ": " + std::to_string(r.status) + " " + r.body.substr(0, 200));
      std::this_thread::sleep_for(100ms);
      continue;
    }
    bool caught_up = false;
    const auto messages = r.json();
    for (const auto& m : messages.as_array()) {
      const auto& headers = m.at("headers").as_object();
      if (const auto* control = headers.if_contains("control")) {
        if (*control == "up-to-date") caught_up = true;
        continue;
      }
      const auto& value = m.at("value").as_object();
      std::string id(value.at("id").as_string());
      if (headers.at("operation") == "delete") {
        if (c.rows.erase(id) == 0) c.error("delete of a key not held: " + id);
      } else {
        c.rows[id] = signature(value);
      }
    }
    handle = r.header("electric-handle");
    offset = r.header("electric-offset");
    auto h = shape_handle::parse(handle);
    auto o = shape_offset::parse(offset);
    if (!h || !o) {
      c.error("bad handle or offset: " + handle + " " + offset);
      continue;
    }
    c.answered(sh, h->epoch, after_end, port, target);
    if (!caught_up) continue;
    up_to_date = true;
    catching_up = false;
    c.synced = true;
    if (fin && o->k == shape_offset::kind::log && h->epoch == fin->epoch &&
        !(o->lsn < fin->position)) {
      c.done = true;
      return;
    }
    if (stopped) std::this_thread::sleep_for(20ms);
  }
  c.error("did not finish in time");
}

// A fieldsync.v1 subscription that follows the server across the restart with its cursor.
void ws_subscriber(shared_state& sh, client_state& c, const std::string& token) {
  const auto deadline = steady::now() + client_deadline;
  std::unique_ptr<sync_client> s;
  std::uint16_t at = 0;
  bool subscribed_after_end = false;
  bool ping_sent = false;
  auto finish = [&] {
    if (!s) return;
    const auto& v = s->view("acc");
    c.resets = v.resets;
    for (const auto& [key, row] : v.rows) c.rows[key] = signature(row);
    for (const auto& e : s->errors()) c.error(e);
  };
  // Live and past the last change: the test has nothing more to send it.
  auto at_end = [&] {
    const auto fin = sh.last_change();
    if (!s || !fin) return false;
    const auto& v = s->view("acc");
    auto held = v.cursor ? cursor::parse(*v.cursor) : std::nullopt;
    return v.up_to_date && held && held->epoch == fin->epoch && !(held->position < fin->position);
  };
  while (steady::now() < deadline && !sh.quit) {
    if (at_end()) {
      c.done = true;
      finish();
      return;
    }
    if (!s) {
      at = sh.port;
      if (!at) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      s = std::make_unique<sync_client>(at, token, c.name);
      s->seq_column.clear();
      s->subscribe("acc", "accounts");
      subscribed_after_end = sh.epoch_ended;
      ping_sent = false;
      continue;
    }
    if (s->closed()) {  // the server went away: resume from the cursor on the next one
      const auto port = sh.port.load();
      if (!port || port == at || c.holding(sh)) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      subscribed_after_end = sh.epoch_ended;
      if (!s->reconnect_to(port)) break;
      at = port;
      ping_sent = false;
      continue;
    }
    // A read that times out ends the WebSocket (Beast), so none may: a ping before each
    // wait guarantees an answer soon (its pong) whatever the log does.
    if (!ping_sent) {
      try {
        s->raw().send(R"({"type":"ping","id":"poll"})");
        ping_sent = true;
      } catch (const std::exception&) {
      }
    }
    auto m = s->next(60s);
    if (!m && !s->closed()) c.error("no message, not even a pong, for 60 s");
    for (const auto& e : s->protocol_errors()) {
      // The subscription ended (the log is changing epochs, the collection is being
      // copied): subscribe again shortly, from the cursor if there is one.
      const auto code = e.at("code").as_string();
      if (code != "unavailable" && code != "internal_error") {
        c.error("error: " + json::serialize(e));
        continue;
      }
      std::this_thread::sleep_for(50ms);
      subscribed_after_end = sh.epoch_ended;
      s->resubscribe("acc");
    }
    s->protocol_errors().clear();
    if (!m) continue;
    const auto type = m->at("type").as_string();
    if (type == "pong") ping_sent = false;
    const auto* text = m->if_contains("cursor");
    if (!text || !text->is_string()) continue;
    auto position = cursor::parse(text->as_string());
    if (!position) continue;  // sync_client records it
    c.answered(sh, position->epoch, subscribed_after_end, at, "subscription");
    if (type == "up-to-date") c.synced = true;
  }
  finish();
  c.error("did not finish in time");
}

std::string admin_status(std::uint16_t admin_port, const char* field) {
  auto r = http_call(admin_port, http::verb::get, "/admin/v1/status", {},
                     {{"Authorization", std::string("Bearer ") + test_admin_token}});
  REQUIRE(r.status == 200);
  return json::serialize(r.json().at("replication").at("ingest").at(field));
}

std::size_t count_lines(const std::string& transcript, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = transcript.find(needle); at != std::string::npos;
       at = transcript.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace

namespace {

// `quiet_reset`: the writers pause from before the restart until every client is in the new
// epoch, so that nothing but the reset itself can tell the clients (a change of the new
// epoch would wake a long-poll too); otherwise they write throughout.
void epoch_change_scenario(bool quiet_reset) {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_pull_schema(dsn);
  exec_sql(dsn,
           "INSERT INTO pull_accounts (id, territory_id, stage) "
           "SELECT g, 1 + g % 4, 'lead' FROM generate_series(1, 300) g");
  // Long-polls that nothing ends but a new epoch: ten minutes.
  const auto sections = pull_sections(db.name(), "long_poll_timeout_ms = 600000");
  const std::string slot = "fs_" + db.name();
  const auto token = sign_token({{"territories", json::array{1, 2}}});

  auto a = std::make_unique<server_process>(dsn, sections);
  wait_for_pull_log(dsn);
  shared_state sh;
  sh.old_epoch = std::stoll(query_value(dsn, "SELECT epoch FROM fieldsync.state"));
  sh.port = a->public_port();

  writer_pool writers(dsn);
  writers.start(1);

  std::deque<client_state> clients;
  std::vector<std::thread> threads;
  // However the test ends, the clients stop and are joined.
  struct joiner {
    shared_state& state;
    std::vector<std::thread>& client_threads;
    ~joiner() {
      state.quit = true;
      for (auto& t : client_threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_all{sh, threads};
  auto progress = [&] {
    std::string out;
    for (const auto& c : clients) {
      out += c.name + ": synced " + std::to_string(c.synced) + ", at B " +
             std::to_string(c.waiting_at_b) + ", new epoch " + std::to_string(c.in_new_epoch) +
             ", answers " + std::to_string(c.answers) + "\n";
    }
    return out;
  };
  auto start = [&](const std::string& name, bool late, auto run) {
    auto& c = clients.emplace_back(name, late);
    threads.emplace_back([&sh, &c, &token, run] { run(sh, c, token); });
  };
  for (int i = 0; i < 3; ++i) start("pull-" + std::to_string(i), false, changes_client);
  for (int i = 0; i < 2; ++i) start("shape-" + std::to_string(i), false, shape_client);
  for (int i = 0; i < 3; ++i) start("ws-" + std::to_string(i), false, ws_subscriber);
  start("late-pull", true, changes_client);
  start("late-shape", true, shape_client);
  for (int i = 0; i < 2; ++i) start("late-ws-" + std::to_string(i), true, ws_subscriber);
  auto all = [&](auto pred) { return std::all_of(clients.begin(), clients.end(), pred); };
  wait_until([&] { return all([](const client_state& c) { return c.synced.load(); }); }, 120s,
             "every client synced with the first server", progress);

  if (quiet_reset) writers.stop();

  // The slot is lost while the server is away.
  sh.port = 0;
  CHECK(a->terminate() == 0);
  CHECK(count_lines(a->process().transcript(), "HISTORY LOST") == 0);
  wait_until(
      [&] {
        try {
          exec_sql(dsn, "SELECT pg_drop_replication_slot('" + slot + "')");
          return true;
        } catch (const std::exception&) {
          return false;  // still active: the walsender has not noticed yet
        }
      },
      30s, "the slot to be dropped");

  // A reader of the log that holds `changes` and reads the state later: the order in which
  // the issue's reader deadlocked with the reset.
  auto reader = pg_connect(dsn);
  pg_exec(reader.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  pg_exec(reader.get(), "SELECT count(*) FROM fieldsync.changes");

  server_process b(dsn, sections);
  sh.server_b = b.public_port();
  sh.port = b.public_port();
  // B found history lost and recorded its reset, which waits for the reader; meanwhile it
  // serves the old epoch, and every client but the late ones comes to wait there.
  wait_until(
      [&] {
        return query_value(dsn, "SELECT slot_name FROM fieldsync.state") ==
               fieldsync::storage::epoch_reset_marker;
      },
      60s, "the second server to begin the epoch reset");
  wait_until(
      [&] { return all([](const client_state& c) { return c.late || c.waiting_at_b.load(); }); },
      120s, "the clients to wait at the restarted server in the old epoch", progress);

  auto seen = pg_exec(reader.get(), "SELECT epoch FROM fieldsync.state");
  CHECK(std::string(PQgetvalue(seen.get(), 0, 0)) == std::to_string(sh.old_epoch));
  pg_exec(reader.get(), "COMMIT");

  std::int64_t new_epoch = 0;
  wait_until(
      [&] {
        new_epoch = std::stoll(query_value(dsn, "SELECT epoch FROM fieldsync.state"));
        return new_epoch != sh.old_epoch;
      },
      120s, "the new epoch");
  sh.epoch_ended = true;
  // The late clients come back now, in the first moments of the new epoch (the server's
  // listeners may not have heard of it yet, its collections are still being copied).
  sh.late_go = true;

  // Every client gets to the new epoch (with nothing but the reset to tell it, when the
  // writers pause), then a while of load in it, then the last word.
  wait_until([&] { return all([](const client_state& c) { return c.in_new_epoch.load(); }); }, 120s,
             "every client in the new epoch", progress);
  if (quiet_reset) writers.start(3);
  wait_until(
      [&] { return std::stoll(query_value(dsn, "SELECT count(*) FROM fieldsync.changes")) >= 300; },
      120s, "changes in the new epoch", progress);
  writers.stop();
  sh.writers_stopped = true;
  exec_sql(dsn, "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (" +
                    std::to_string(wake_id) + ", 1, 'wake')");
  wait_for_pull_log(dsn);
  auto wake = query_value(dsn,
                          "SELECT lsn::text FROM fieldsync.rows WHERE collection = "
                          "'accounts' AND key = '" +
                              std::to_string(wake_id) + "'");
  sh.set_final(cursor{new_epoch, *fieldsync::protocol::lsn::parse(wake)});
  for (auto& t : threads) t.join();

  const auto expected = expected_rows(dsn);
  for (const auto& c : clients) {
    INFO(c.name);
    for (const auto& e : c.errors) UNSCOPED_INFO(e);
    CHECK(c.errors.empty());
    CHECK(c.done);
    CHECK(c.resets == 1);
    CHECK(c.epochs == std::set<std::int64_t>{sh.old_epoch.load(), new_epoch});
    std::size_t missing = 0, extra = 0, different = 0;
    for (const auto& [id, sig] : expected) {
      auto it = c.rows.find(id);
      if (it == c.rows.end())
        ++missing;
      else if (it->second != sig)
        ++different;
    }
    for (const auto& [id, sig] : c.rows) extra += expected.contains(id) ? 0 : 1;
    INFO("missing " << missing << ", extra " << extra << ", different " << different);
    CHECK(c.rows == expected);
  }
  CHECK(std::stoll(query_value(dsn, "SELECT epoch FROM fieldsync.state")) == new_epoch);
  CHECK(query_value(dsn, "SELECT slot_name FROM fieldsync.state") == slot);
  CHECK(admin_status(b.admin_port(), "epochs_started") == "1");
  const auto log = b.process().transcript();
  CHECK(count_lines(log, "HISTORY LOST") == 1);
  CHECK(count_lines(log, "restored from a backup") == 0);
  CHECK(count_lines(log, "deadlock") == 0);
  CHECK(b.terminate() == 0);
}

}  // namespace

TEST_CASE(
    "epoch change under load: clients mid long-poll and mid WebSocket resume while the "
    "slot is lost and the server restarts",
    "[e2e][epoch][fault]") {
  epoch_change_scenario(false);
}

TEST_CASE(
    "epoch change: clients mid long-poll and mid WebSocket resume learn of it from the "
    "reset alone",
    "[e2e][epoch][fault]") {
  epoch_change_scenario(true);
}
