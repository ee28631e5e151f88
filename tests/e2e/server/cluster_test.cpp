// Three nodes behind HAProxy under load (docs/operations.md): live clients subscribed
// through the load balancer, a writer on the database, clients pushing counter increments;
// then the ingest leader killed with SIGKILL, or every node restarted in turn with SIGTERM.
// Afterwards every client holds exactly the database's rows, no change reached a client
// twice or out of order (sync_client's checks), and every acknowledged push was applied
// exactly once (each pusher's counter in the database equals its acknowledged pushes).
//
// The size of the load comes from the environment (defaults: 300 clients, 500 changes/s,
// 10 pushers), so scripts/soak-cluster runs the same code on a release build for longer,
// with the gap and reconnect figures it prints. Figures are printed, never asserted.

#include "tests/support/http_client.hpp"
#include "tests/support/lb_cluster.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::max(1, std::atoi(v)) : fallback;
}

struct load_size {
  int clients = env_int("FIELDSYNC_CLUSTER_CLIENTS", 300);
  int changes_per_second = env_int("FIELDSYNC_CLUSTER_RATE", 500);
  int pushers = env_int("FIELDSYNC_CLUSTER_PUSHERS", 10);
  int territories = 50;  // a rep sees one territory: each change reaches clients / 50
  int rows = 2000;
};

std::string cluster_sections(const fresh_database& db) {
  return live_sync_sections(db,
                            "[mutations]\n"
                            "version_wait_ms = 10000\n"
                            "[collections.tallies]\n"
                            "primary_key = [\"id\"]\n"
                            "read_scope = \"owner = $claims.sub\"\n"
                            "write_scope = \"owner = $claims.sub\"\n"
                            "[collections.tallies.merge.fields]\n"
                            "hits = \"counter\"\n",
                            "",
                            "reconnect_min_ms = 50\n"
                            "reconnect_max_ms = 1000\n"
                            "leader_retry_ms = 200\n");
}

bool same_rows(const std::map<std::string, json::object>& got,
               const std::map<std::string, std::string>& want) {
  if (got.size() != want.size()) return false;
  for (const auto& [key, text] : want) {
    auto it = got.find(key);
    if (it == got.end() || json::value(it->second) != json::parse(text)) return false;
  }
  return true;
}

// What a client lives through: when its changes arrived, when it was cut off and when it
// was live again, and the closes it saw.
struct client_record {
  std::mutex m;
  std::vector<steady::time_point> changes;
  std::vector<std::pair<steady::time_point, steady::time_point>> outages;  // closed, live again
  std::vector<std::string> problems;  // closes and errors a user would have to see
};

// The writer: row changes at a steady rate on the database itself, in transactions of
// up to 5 (updates that bump seq, some moving the row to another territory; inserts with
// fresh ids; deletes).
class paced_writer {
 public:
  paced_writer(std::string dsn, const load_size& size) : dsn_(std::move(dsn)), size_(size) {
    for (int id = 1; id <= size.rows; ++id) live_.push_back(id);
    next_id_ = size.rows + 1;
  }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~paced_writer() { stop(); }
  std::uint64_t changes() const { return changes_; }
  std::string failure() const { return failure_; }

 private:
  void run() {
    try {
      auto c = pg_connect(dsn_);
      std::mt19937_64 rng(20261202);
      const int per_tick = std::max(1, size_.changes_per_second / 100);
      auto next = steady::now();
      while (!stop_) {
        std::string sql = "BEGIN;";
        for (int i = 0; i < per_tick; ++i) sql += one_change(rng);
        sql += "COMMIT;";
        pg_exec(c.get(), sql);
        changes_ += static_cast<std::uint64_t>(per_tick);
        next += 10ms;
        std::this_thread::sleep_until(next);
      }
    } catch (const std::exception& e) {
      failure_ = e.what();
    }
  }

  std::string one_change(std::mt19937_64& rng) {
    const int dice = static_cast<int>(rng() % 100);
    const auto territory = [&] {
      return std::to_string(1 + rng() % static_cast<unsigned>(size_.territories));
    };
    if (dice < 10 || live_.size() < 100) {
      const auto id = next_id_++;
      live_.push_back(id);
      return "INSERT INTO items (id, territory_id, payload) VALUES (" + std::to_string(id) + ", " +
             territory() + ", 'new');";
    }
    const auto at = rng() % live_.size();
    const auto id = std::to_string(live_[at]);
    if (dice < 20) {
      live_[at] = live_.back();
      live_.pop_back();
      return "DELETE FROM items WHERE id = " + id + ";";
    }
    if (dice < 35) {
      return "UPDATE items SET seq = seq + 1, territory_id = " + territory() + " WHERE id = " + id +
             ";";
    }
    return "UPDATE items SET seq = seq + 1, payload = md5(random()::text) WHERE id = " + id + ";";
  }

  std::string dsn_;
  load_size size_;
  std::vector<std::int64_t> live_;
  std::int64_t next_id_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> changes_{0};
  std::string failure_;
};

// Closes a client may see from a cluster changing under it without showing anything: a
// node draining (1012), a node gone (no close frame: 1006 or nothing), a slow read (4008,
// handled inside sync_client).
bool silent_close(std::uint16_t code) { return code == 1012 || code == 1006 || code == 0; }

// Reconnects through the load balancer until it works (a short random pause between tries,
// as a client's backoff would); false only when `stop` is set first.
bool reconnect(sync_client& c, std::uint16_t port, std::mt19937& rng,
               const std::atomic<bool>& stop) {
  while (!stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 200));
    if (c.try_reconnect_to(port)) return true;
  }
  return false;
}

// One subscriber: `items` of its territory through the load balancer, until `stop`; then
// reads until it holds `want` (given once the writer stopped) or the time runs out.
void run_subscriber(sync_client& c, client_record& rec, std::uint16_t port,
                    const std::atomic<bool>& stop, int seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  while (!stop) {
    auto m = c.next(1s);
    if (m) {
      if (m->at("type") == "change") {
        std::lock_guard lock(rec.m);
        rec.changes.push_back(steady::now());
      }
      continue;
    }
    if (!c.closed()) continue;  // a quiet moment
    const auto cut = steady::now();
    const auto code = c.raw().close_code();
    if (!silent_close(code)) {
      std::lock_guard lock(rec.m);
      rec.problems.push_back("closed with " + std::to_string(code));
    }
    if (!reconnect(c, port, rng, stop)) return;
    // Live again once the server answered the resumed subscription.
    auto first = c.next(30s);
    std::lock_guard lock(rec.m);
    rec.outages.emplace_back(cut, steady::now());
    if (first && first->at("type") == "change") rec.changes.push_back(steady::now());
  }
}

json::object increment(std::int64_t mutation_id, int row, std::int64_t from) {
  return json::object{
      {"mutation_id", mutation_id}, {"collection", "tallies"},     {"op", "update"},
      {"key", {{"id", row}}},       {"set", {{"hits", from + 1}}}, {"base", {{"hits", from}}}};
}

// One pusher: increments its own tally row, one push at a time, every 100 ms; a push whose
// answer a close took away is sent again (the same mutation id) on the next connection.
// Returns the pushes acknowledged (applied, merged or duplicate).
std::int64_t run_pusher(sync_client& c, client_record& rec, int row, std::uint16_t port,
                        const std::atomic<bool>& stop) {
  std::mt19937 rng(static_cast<unsigned>(row));
  std::int64_t acknowledged = 0;
  for (std::int64_t mutation_id = 1; !stop; ++mutation_id) {
    const auto body =
        json::serialize(json::object{{"type", "push"},
                                     {"id", mutation_id},
                                     {"mutations", {increment(mutation_id, row, acknowledged)}}});
    bool answered = false;
    const auto send = [&] {
      try {
        c.raw().send(body);
      } catch (const std::exception&) {
        // the connection is gone: the read below sees it closed, and the push goes again
      }
    };
    send();
    while (!answered) {
      auto m = c.next(30s);
      if (!m) {
        if (!c.closed()) {
          std::lock_guard lock(rec.m);
          rec.problems.push_back("push " + std::to_string(mutation_id) + " unanswered for 30 s");
          return acknowledged;
        }
        // Even once stopping, a push without an answer is sent again: it must end known.
        std::atomic<bool> never{false};
        if (!reconnect(c, port, rng, never)) return acknowledged;
        send();
        continue;
      }
      const auto& type = m->at("type").as_string();
      if (type == "error") {
        std::lock_guard lock(rec.m);
        rec.problems.push_back("push refused: " + json::serialize(*m));
        return acknowledged;
      }
      if (type != "push_result" || m->at("id") != mutation_id) continue;
      const auto& status = m->at("results").as_array().at(0).at("status").as_string();
      if (status != "applied" && status != "merged" && status != "duplicate") {
        std::lock_guard lock(rec.m);
        rec.problems.push_back("push " + std::to_string(mutation_id) + ": " + json::serialize(*m));
        return acknowledged;
      }
      answered = true;
      ++acknowledged;
    }
    std::this_thread::sleep_for(100ms);
  }
  return acknowledged;
}

double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// The cluster under load: subscribers, pushers and the writer, started together; `disturb`
// runs while they work, then everything is stopped and checked.
class cluster_load {
 public:
  cluster_load(const std::string& dsn, lb_cluster& cluster, load_size size)
      : dsn_(dsn), cluster_(cluster), size_(size), writer_(dsn, size) {
    for (int i = 0; i < size_.clients; ++i) {
      const std::int64_t territory = 1 + i % size_.territories;
      territories_.push_back(territory);
      auto c = std::make_unique<sync_client>(cluster_.port(),
                                             test_token("rep-" + std::to_string(i), {territory}),
                                             "sub-" + std::to_string(i));
      c->subscribe("items", "items");
      subscribers_.push_back(std::move(c));
    }
    for (int i = 0; i < size_.pushers; ++i) {
      auto c = std::make_unique<sync_client>(cluster_.port(),
                                             test_token("pusher-" + std::to_string(i + 1), {}),
                                             "pusher-" + std::to_string(i + 1));
      c->seq_column = "";
      c->reconnect_on_overflow = false;  // run_pusher reconnects, and sends its push again
      pushers_.push_back(std::move(c));
    }
    records_ = std::vector<client_record>(subscribers_.size() + pushers_.size());
    for (auto& c : subscribers_) {
      REQUIRE(c->run_until([&] { return c->view("items").up_to_date; }, 120s));
    }
    acknowledged_.assign(pushers_.size(), 0);
    for (std::size_t i = 0; i < subscribers_.size(); ++i) {
      threads_.emplace_back([this, i] {
        run_subscriber(*subscribers_[i], records_[i], cluster_.port(), stop_readers_,
                       static_cast<int>(i));
      });
    }
    for (std::size_t i = 0; i < pushers_.size(); ++i) {
      threads_.emplace_back([this, i] {
        acknowledged_[i] = run_pusher(*pushers_[i], records_[subscribers_.size() + i],
                                      static_cast<int>(i + 1), cluster_.port(), stop_pushers_);
      });
    }
    writer_.start();
  }

  ~cluster_load() {
    writer_.stop();
    stop_pushers_ = stop_readers_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // Stops the load and checks every promise; prints what the clients lived through since
  // `since` (a kill, the first restart).
  void finish_and_check(steady::time_point since, const std::string& event) {
    writer_.stop();
    stop_pushers_ = true;
    for (std::size_t i = subscribers_.size(); i < threads_.size(); ++i) threads_[i].join();
    stop_readers_ = true;
    for (std::size_t i = 0; i < subscribers_.size(); ++i) threads_[i].join();
    threads_.clear();
    CHECK(writer_.failure().empty());

    // Every subscriber catches up with the final rows of its territory.
    std::map<std::int64_t, std::map<std::string, std::string>> truth;
    for (auto t : territories_) {
      if (!truth.contains(t)) truth[t] = items_in(dsn_, {t});
    }
    std::mt19937 rng(7);
    std::atomic<bool> never{false};
    std::size_t converged = 0;
    for (std::size_t i = 0; i < subscribers_.size(); ++i) {
      auto& c = *subscribers_[i];
      const auto& want = truth.at(territories_[i]);
      auto done = [&] { return same_rows(c.view("items").rows, want); };
      bool ok = false;
      for (int attempt = 0; attempt < 5 && !ok; ++attempt) {
        ok = c.run_until(done, 60s);
        if (!ok && c.closed()) (void)reconnect(c, cluster_.port(), rng, never);
      }
      INFO("client " << i);
      for (const auto& e : c.errors()) UNSCOPED_INFO(e);
      CHECK(c.errors().empty());
      CHECK(c.protocol_errors().empty());
      if (ok) ++converged;
    }
    CHECK(converged == subscribers_.size());

    // Every acknowledged push applied once: the counters hold exactly the acknowledgements.
    std::int64_t pushes = 0;
    for (std::size_t i = 0; i < pushers_.size(); ++i) {
      const auto hits =
          query_text(dsn_, "SELECT hits FROM tallies WHERE id = " + std::to_string(i + 1));
      INFO("pusher " << i + 1);
      CHECK(hits == std::to_string(acknowledged_[i]));
      CHECK(acknowledged_[i] > 0);
      pushes += acknowledged_[i];
    }
    std::size_t problems = 0;
    for (auto& r : records_) {
      for (const auto& p : r.problems) UNSCOPED_INFO(p);
      problems += r.problems.size();
    }
    CHECK(problems == 0);
    report(since, event, pushes);
  }

 private:
  // The gap (the last change a client got before `since` to its first after) and the
  // reconnect storm (from `since` until the last client cut off was live again).
  void report(steady::time_point since, const std::string& event, std::int64_t pushes) {
    std::vector<double> gaps;
    std::size_t cut = 0;
    steady::time_point all_live = since;
    for (std::size_t i = 0; i < subscribers_.size(); ++i) {
      auto& r = records_[i];
      auto after = std::lower_bound(r.changes.begin(), r.changes.end(), since);
      if (after != r.changes.begin() && after != r.changes.end())
        gaps.push_back(ms(*after - *(after - 1)));
      for (const auto& [closed, live] : r.outages) {
        if (closed < since) continue;
        ++cut;
        all_live = std::max(all_live, live);
      }
    }
    std::cout << "cluster: " << subscribers_.size() << " clients, " << writer_.changes()
              << " changes, " << pushes << " pushes acknowledged; ";
    // The gap is measured around one event; a soak's `since` is its start, before any change.
    if (!gaps.empty()) {
      std::cout << "gap p50 " << percentile(gaps, 0.5) << " ms, p99 " << percentile(gaps, 0.99)
                << " ms, max " << percentile(gaps, 1.0) << " ms; ";
    }
    std::cout << cut << " reconnects, the last live again " << ms(all_live - since) << " ms after "
              << event << "\n";
  }

  std::string dsn_;
  lb_cluster& cluster_;
  load_size size_;
  paced_writer writer_;
  std::vector<std::int64_t> territories_;
  std::vector<std::unique_ptr<sync_client>> subscribers_;
  std::vector<std::unique_ptr<sync_client>> pushers_;
  std::vector<client_record> records_;
  std::vector<std::int64_t> acknowledged_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_readers_{false};
  std::atomic<bool> stop_pushers_{false};
};

void create_cluster_schema(const std::string& dsn, const load_size& size) {
  create_items_schema(dsn);
  seed_items(dsn, size.rows, size.territories);
  auto c = pg_connect(dsn);
  pg_exec(
      c.get(),
      "CREATE TABLE tallies (id int PRIMARY KEY, owner text NOT NULL, hits bigint NOT NULL DEFAULT 0);"
      "INSERT INTO tallies (id, owner) SELECT g, 'pusher-' || g FROM generate_series(1, " +
          std::to_string(size.pushers) + ") g;");
}

}  // namespace

TEST_CASE("three nodes behind HAProxy: kill -9 of the ingest leader under load loses nothing",
          "[e2e][cluster][fault]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  load_size size;
  create_cluster_schema(dsn, size);
  lb_cluster cluster(dsn, cluster_sections(db));
  wait_for_collection(dsn, "items");
  wait_for_collection(dsn, "tallies");
  const int leader = cluster.wait_for_leader(60s);

  cluster_load load(dsn, cluster, size);
  std::this_thread::sleep_for(3s);
  const auto killed_at = steady::now();
  cluster.kill(leader);
  const int next = cluster.wait_for_leader(60s);
  CHECK(next != leader);
  std::cout << "cluster: node " << leader + 1 << " killed; node " << next + 1 << " ingests after "
            << ms(steady::now() - killed_at) << " ms\n";
  std::this_thread::sleep_for(5s);  // the load goes on over the new leader
  load.finish_and_check(killed_at, "the kill");
}

TEST_CASE("a rolling restart of three nodes under load: nothing lost, no error a user would see",
          "[e2e][cluster][drain]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  load_size size;
  create_cluster_schema(dsn, size);
  lb_cluster cluster(dsn, cluster_sections(db));
  wait_for_collection(dsn, "items");
  wait_for_collection(dsn, "tallies");
  (void)cluster.wait_for_leader(60s);

  cluster_load load(dsn, cluster, size);
  std::this_thread::sleep_for(2s);
  const auto first_stop = steady::now();
  for (int i = 0; i < cluster.size(); ++i) {
    INFO("node " << i + 1);
    CHECK(cluster.stop(i) == 0);  // a clean exit after the drain
    cluster.start(i);
    (void)cluster.wait_for_leader(60s);
    std::this_thread::sleep_for(1s);
  }
  std::this_thread::sleep_for(3s);
  load.finish_and_check(first_stop, "the first SIGTERM");
}

// scripts/soak-cluster: random kills and restarts for FIELDSYNC_SOAK_MINUTES under the load.
TEST_CASE("soak: random kills and restarts of cluster nodes under load", "[cluster-soak][.]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  load_size size;
  create_cluster_schema(dsn, size);
  lb_cluster cluster(dsn, cluster_sections(db));
  wait_for_collection(dsn, "items");
  wait_for_collection(dsn, "tallies");
  (void)cluster.wait_for_leader(60s);
  cluster_load load(dsn, cluster, size);
  const auto minutes = env_int("FIELDSYNC_SOAK_MINUTES", 10);
  const auto started = steady::now();
  const auto end = started + std::chrono::minutes(minutes);
  std::mt19937 rng(static_cast<unsigned>(env_int("FIELDSYNC_SOAK_SEED", 20261202)));
  int round = 0;
  while (steady::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2000 + rng() % 8000));
    const int victim = static_cast<int>(rng() % static_cast<unsigned>(cluster.size()));
    const bool kill = rng() % 2 == 0;
    std::cout << "soak round " << ++round << ": " << (kill ? "kill -9" : "SIGTERM") << " node "
              << victim + 1 << (victim == cluster.leader() ? " (the leader)" : "") << "\n"
              << std::flush;
    if (kill) {
      cluster.kill(victim);
    } else {
      CHECK(cluster.stop(victim) == 0);
    }
    cluster.start(victim);
    (void)cluster.wait_for_leader(60s);
  }
  load.finish_and_check(started, "the soak's start");
}
