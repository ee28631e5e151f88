// Convergence: five simulated offline clients each queue 200 random edits on the same 50
// rows (counter increments, last-writer-wins titles, set-union tags, reject-policy notes,
// deletes and re-inserts) while an integration updates the same rows through SQL. They
// reconnect in random order, concurrently, and push their queues in random batches,
// resending batches at random (lost answers, overlapping retries). Afterwards:
//   - every mutation has exactly one result, every retry got the original one back, every
//     client's last mutation id is 200, and no mutation made more than one change in the log
//     (a rejected one none);
//   - every counter of a row nobody deletes equals the sum of all its increments (clients'
//     and the integration's), and on the other rows every change a client made to the
//     counter is exactly its increment;
//   - every client's state after pulling the log equals the database.
//
// FIELDSYNC_CONVERGENCE_RUNS (default 3) seeded runs share one server; scripts/soak-mutations
// runs 1,000.

#include "conflicts/hlc.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr int row_count = 50;
constexpr int stable_rows = 40;  // ids below are never deleted nor inserted
constexpr int clients = 5;
constexpr int edits_per_client = 200;
const std::vector<std::string> tag_pool = {"a", "b", "c", "d", "e", "f"};

std::string sections(const std::string& database) {
  return "[replication]\n"
         "slot = \"fs_" + database + "\"\n"
         "publication = \"fs_" + database + "\"\n"
         "heartbeat_interval_ms = 200\n"
         "[mutations]\n"
         "version_wait_ms = 0\n" +
         test_auth_toml() +
         "[collections.conv_items]\n"
         "primary_key = [\"run\", \"id\"]\n"
         "read_scope = \"owner = $claims.sub\"\n"
         "write_scope = \"owner = $claims.sub\"\n"
         "[collections.conv_items.merge.fields]\n"
         "hits = \"counter\"\n"
         "tags = \"set-union\"\n"
         "note = \"reject\"\n";
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct local_row {
  std::optional<json::object> row;  // nullopt: deleted (as the client believes)
  std::optional<std::string> version;
};

struct sent_mutation {
  json::object body;
  int row_id = 0;
  std::optional<std::int64_t> hits_delta;  // set hits = base + delta
};

class simulated_client {
 public:
  simulated_client(int run, int index, std::uint64_t seed)
      : run_(run), id_("r" + std::to_string(run) + "-c" + std::to_string(index)), rng_(seed),
        clock_(*fieldsync::conflicts::hlc::zero(id_)) {}

  const std::string& id() const { return id_; }

  // The log's view of the run's rows: what a client gets from a pull.
  void pull(const std::string& dsn) {
    rows_.clear();
    auto log = query_json(dsn, "SELECT coalesce(json_agg(json_build_object('row', r.\"row\", 'lsn', r.lsn::text, "
                               "'deleted', r.deleted)), '[]')::text FROM fieldsync.rows r "
                               "WHERE r.collection = 'conv_items' AND (r.\"row\"->>'run')::int = " +
                                   std::to_string(run_));
    for (const auto& e : log.as_array()) {
      const auto& o = e.as_object();
      int id = static_cast<int>(o.at("row").at("id").as_int64());
      local_row l;
      if (!o.at("deleted").as_bool()) l.row = o.at("row").as_object();
      l.version = std::string(o.at("lsn").as_string());
      rows_[id] = std::move(l);
    }
  }

  const std::map<int, local_row>& rows() const { return rows_; }

  // 200 edits made offline against the local state, applied to it optimistically.
  void queue_edits() {
    for (int n = 1; n <= edits_per_client; ++n) queue_.push_back(make_edit(n));
  }

  const std::vector<sent_mutation>& queue() const { return queue_; }

  // Pushes the queue in random batches with random resends; records the first result of
  // every id and checks every duplicate against it.
  void push_all(std::uint16_t port) {
    std::size_t next = 0;
    std::vector<std::pair<std::size_t, std::size_t>> sent;  // [from, to) of every batch
    std::uniform_int_distribution<int> size(1, 25), pct(0, 99);
    while (next < queue_.size()) {
      std::size_t to = std::min(queue_.size(), next + static_cast<std::size_t>(size(rng_)));
      std::size_t from = next;
      if (!sent.empty() && pct(rng_) < 20) from = sent[std::uniform_int_distribution<std::size_t>(0, sent.size() - 1)(rng_)].first;
      send(port, from, to);
      if (pct(rng_) < 25) send(port, from, to);  // the answer was "lost": the same batch again
      sent.emplace_back(from, to);
      next = to;
    }
    for (int k = 0; k < 3 && !sent.empty(); ++k) {  // late duplicates
      auto [from, to] = sent[std::uniform_int_distribution<std::size_t>(0, sent.size() - 1)(rng_)];
      send(port, from, to);
    }
  }

  const std::map<std::int64_t, json::object>& results() const { return results_; }
  std::vector<std::string> errors;

 private:
  json::object key(int id) const { return json::object{{"run", run_}, {"id", id}}; }

  sent_mutation make_edit(std::int64_t mutation_id) {
    std::uniform_int_distribution<int> pick_row(0, row_count - 1), pct(0, 99), delta(1, 5);
    int id = pick_row(rng_);
    auto& l = rows_[id];
    clock_ = *clock_.send(wall_ms());
    sent_mutation s;
    s.row_id = id;
    json::object m{{"mutation_id", mutation_id}, {"collection", "conv_items"}, {"key", key(id)},
                   {"client_ts", clock_.to_string()}};
    if (l.version) m["base_version"] = *l.version;
    if (!l.row) {
      // Deleted (as far as this client knows): only the deletable rows come back.
      if (id < stable_rows) return make_edit_on_live(mutation_id, std::move(s), std::move(m));
      std::int64_t hits = delta(rng_);
      json::object row{{"run", run_}, {"id", id}, {"owner", "rep"}, {"title", "new " + id_},
                       {"hits", hits}, {"tags", json::array()}, {"note", nullptr}};
      m["op"] = "insert";
      m["set"] = row;
      s.hits_delta = hits;
      l.row = row;
      s.body = std::move(m);
      return s;
    }
    int kind = pct(rng_);
    if (kind < 10 && id >= stable_rows) {
      m["op"] = "delete";
      m["base"] = *l.row;
      l.row.reset();
      s.body = std::move(m);
      return s;
    }
    return make_edit_on_live(mutation_id, std::move(s), std::move(m));
  }

  sent_mutation make_edit_on_live(std::int64_t, sent_mutation s, json::object m) {
    std::uniform_int_distribution<int> pct(0, 99), delta(1, 5), tag(0, static_cast<int>(tag_pool.size()) - 1);
    auto& l = rows_[s.row_id];
    if (!l.row) {
      // A stable row this client believes deleted cannot happen: stable rows are never deleted.
      l.row = json::object{{"hits", 0}, {"title", ""}, {"tags", json::array()}, {"note", nullptr}};
    }
    auto& row = *l.row;
    m["op"] = "update";
    json::object set, base;
    int kind = pct(rng_);
    if (kind < 45) {
      std::int64_t d = delta(rng_);
      std::int64_t cur = row.at("hits").to_number<std::int64_t>();
      set["hits"] = cur + d;
      base["hits"] = cur;
      s.hits_delta = d;
    } else if (kind < 70) {
      set["title"] = id_ + " " + std::to_string(pct(rng_));
      base["title"] = row.at("title");
    } else if (kind < 88) {
      auto tags = row.at("tags").as_array();
      const auto& t = tag_pool[static_cast<std::size_t>(tag(rng_))];
      auto it = std::find(tags.begin(), tags.end(), json::value(t));
      base["tags"] = tags;
      if (it == tags.end()) tags.push_back(json::value(t));
      else tags.erase(it);
      set["tags"] = tags;
    } else {
      set["note"] = "note of " + id_ + " " + std::to_string(pct(rng_));
      base["note"] = row.at("note");
    }
    for (const auto& [k, v] : set) row[k] = v;
    m["set"] = std::move(set);
    m["base"] = std::move(base);
    s.body = std::move(m);
    return s;
  }

  void send(std::uint16_t port, std::size_t from, std::size_t to) {
    json::array ms;
    for (std::size_t i = from; i < to; ++i) ms.push_back(queue_[i].body);
    json::object batch{{"client_id", id_}, {"mutations", std::move(ms)}};
    for (int attempt = 0;; ++attempt) {
      http_reply r;
      try {
        r = push(port, "rep", batch);
      } catch (const std::exception& e) {
        errors.push_back(std::string("push: ") + e.what());
        return;
      }
      if (r.status == 503 && attempt < 50) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      if (r.status != 200) {
        errors.push_back("push answered " + std::to_string(r.status) + ": " + r.body);
        return;
      }
      auto answer = r.json();
      for (const auto& v : answer.at("results").as_array()) {
        const auto& o = v.as_object();
        auto id = o.at("mutation_id").as_int64();
        if (o.at("status") == "duplicate") {
          auto it = results_.find(id);
          if (it == results_.end()) {
            errors.push_back("mutation " + std::to_string(id) + " is a duplicate before it had a result");
          } else if (o.at("original").is_object()) {
            auto original = o.at("original").as_object();
            auto first = it->second;
            original.erase("version");
            first.erase("version");
            if (first.at("status") == "rejected") {
              // A rejection is kept small (protocol.md): the retry gets its code, message
              // and fields, not the row and conflicts the first answer carried.
              first.erase("row");
              first.erase("conflicts");
            }
            if (original != first) {
              errors.push_back("mutation " + std::to_string(id) + ": the retry's original " +
                               json::serialize(original) + " differs from " + json::serialize(first));
            }
          }
        } else if (!results_.emplace(id, o).second) {
          errors.push_back("mutation " + std::to_string(id) + " got a second result");
        }
      }
      return;
    }
  }

  int run_;
  std::string id_;
  std::mt19937_64 rng_;
  fieldsync::conflicts::hlc clock_;
  std::map<int, local_row> rows_;
  std::vector<sent_mutation> queue_;
  std::map<std::int64_t, json::object> results_;
};

void converge_once(const std::string& dsn, std::uint16_t port, int run, std::uint64_t seed) {
  INFO("run " << run << ", seed " << seed);
  exec_sql(dsn, "INSERT INTO conv_items (run, id, owner, title) SELECT " + std::to_string(run) +
                    ", g, 'rep', 'title ' || g FROM generate_series(0, " + std::to_string(row_count - 1) + ") g");
  const std::string run_rows = "SELECT count(*) FROM fieldsync.rows WHERE collection = 'conv_items' AND "
                               "(\"row\"->>'run')::int = " + std::to_string(run);
  wait_until([&] { return log_value(dsn, run_rows) == std::to_string(row_count); }, 60s, "the rows in the log");

  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<simulated_client>> sims;
  for (int c = 0; c < clients; ++c) {
    sims.push_back(std::make_unique<simulated_client>(run, c, rng()));
    sims.back()->pull(dsn);
    sims.back()->queue_edits();  // offline
  }

  // The integration: SQL updates of the same rows while the clients push.
  std::atomic<bool> stop{false};
  std::map<int, std::int64_t> integration_hits;
  std::thread integration([&, iseed = rng()] {
    std::mt19937_64 irng(iseed);
    std::uniform_int_distribution<int> pick(0, row_count - 1), pct(0, 99);
    for (int n = 0; !stop || n < 30; ++n) {
      int id = pick(irng);
      std::string where = " WHERE run = " + std::to_string(run) + " AND id = " + std::to_string(id);
      int kind = pct(irng);
      if (kind < 50 && id < stable_rows) {
        exec_sql(dsn, "UPDATE conv_items SET hits = hits + 1" + where);
        ++integration_hits[id];
      } else if (kind < 75) {
        exec_sql(dsn, "UPDATE conv_items SET title = 'etl " + std::to_string(n) + "'" + where);
      } else if (kind < 90) {
        exec_sql(dsn, "UPDATE conv_items SET tags = array_append(array_remove(tags, 'etl'), 'etl')" + where);
      } else {
        exec_sql(dsn, "UPDATE conv_items SET note = 'etl note " + std::to_string(n) + "'" + where);
      }
    }
  });

  // Reconnect in random order, concurrently.
  std::vector<int> order(clients);
  for (int c = 0; c < clients; ++c) order[static_cast<std::size_t>(c)] = c;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::thread> pushers;
  for (int c : order) {
    pushers.emplace_back([&, c] { sims[static_cast<std::size_t>(c)]->push_all(port); });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 30)(rng)));
  }
  for (auto& t : pushers) t.join();
  stop = true;
  integration.join();

  // The run exercised what it is about: merges and rejections, not only clean applies.
  std::map<std::string, int> statuses;
  for (const auto& s : sims) {
    for (const auto& [id, result] : s->results()) ++statuses[std::string(result.at("status").as_string())];
  }
  INFO("applied " << statuses["applied"] << ", merged " << statuses["merged"] << ", rejected "
                  << statuses["rejected"]);
  CHECK(statuses["merged"] > 0);
  CHECK(statuses["rejected"] > 0);
  if (std::getenv("FIELDSYNC_CONVERGENCE_RUNS")) {
    WARN("run " << run << ": applied " << statuses["applied"] << ", merged " << statuses["merged"]
                << ", rejected " << statuses["rejected"]);
  }

  // Exactly once.
  for (const auto& s : sims) {
    INFO("client " << s->id());
    for (const auto& e : s->errors) FAIL_CHECK(e);
    CHECK(s->results().size() == static_cast<std::size_t>(edits_per_client));
    CHECK(query_value(dsn, "SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = '" + s->id() + "'") ==
          std::to_string(edits_per_client));
  }

  // The log has caught up when its live rows are the table's rows.
  const std::string table_rows =
      "SELECT coalesce(json_agg(to_jsonb(t) ORDER BY id), '[]')::text FROM conv_items t WHERE run = " + std::to_string(run);
  const std::string log_rows =
      "SELECT coalesce(json_agg(r.\"row\" ORDER BY (r.\"row\"->>'id')::int), '[]')::text FROM fieldsync.rows r "
      "WHERE r.collection = 'conv_items' AND NOT r.deleted AND (r.\"row\"->>'run')::int = " + std::to_string(run);
  wait_until([&] { return json::parse(query_value(dsn, table_rows)) == json::parse(query_value(dsn, log_rows)); },
             60s, "the log to equal the table");

  // No mutation made more than one change; rejected ones none.
  auto changes = query_json(dsn,
      "SELECT coalesce(json_agg(json_build_object('c', client_id, 'm', mutation_id, 'op', op, 'row', \"row\", "
      "'old', old_row)), '[]')::text FROM fieldsync.changes WHERE collection = 'conv_items' AND "
      "client_id LIKE 'r" + std::to_string(run) + "-%'");
  std::map<std::pair<std::string, std::int64_t>, int> change_count;
  for (const auto& ch : changes.as_array()) {
    const auto& o = ch.as_object();
    ++change_count[{std::string(o.at("c").as_string()), o.at("m").as_int64()}];
  }
  for (const auto& s : sims) {
    for (const auto& [id, result] : s->results()) {
      int n = change_count[{s->id(), id}];
      INFO("client " << s->id() << " mutation " << id << ": " << json::serialize(result));
      CHECK(n <= 1);
      if (result.at("status") == "rejected") CHECK(n == 0);
    }
  }

  // Counters: rows nobody deletes hold the sum of every increment.
  auto table = json::parse(query_value(dsn, table_rows)).as_array();
  std::map<int, std::int64_t> expected = integration_hits;
  for (const auto& s : sims) {
    for (const auto& m : s->queue()) {
      if (m.row_id < stable_rows && m.hits_delta) expected[m.row_id] += *m.hits_delta;
    }
  }
  for (const auto& row : table) {
    int id = static_cast<int>(row.at("id").as_int64());
    if (id >= stable_rows) continue;
    INFO("row " << id);
    CHECK(row.at("hits").as_int64() == expected[id]);
  }
  // The other rows: each change a client made to the counter is exactly its increment.
  std::map<std::pair<std::string, std::int64_t>, const sent_mutation*> sent;
  for (const auto& s : sims) {
    for (const auto& m : s->queue()) sent[{s->id(), m.body.at("mutation_id").as_int64()}] = &m;
  }
  for (const auto& ch : changes.as_array()) {
    const auto& o = ch.as_object();
    const auto* m = sent[{std::string(o.at("c").as_string()), o.at("m").as_int64()}];
    REQUIRE(m);
    if (!m->hits_delta) continue;
    auto hits = o.at("row").at("hits").as_int64();
    if (o.at("op") == "i") {
      CHECK(hits == m->body.at("set").at("hits").as_int64());
    } else if (o.at("op") == "u") {
      CHECK(hits - o.at("old").at("hits").as_int64() == *m->hits_delta);
    }
  }

  // Every client's state after pulling equals the database.
  for (auto& s : sims) {
    s->pull(dsn);
    json::array state;
    for (const auto& [id, l] : s->rows()) {
      if (l.row) state.push_back(*l.row);
    }
    CHECK(state == table);
  }
}

}  // namespace

TEST_CASE("offline clients and an integration converge, every mutation applied once",
          "[e2e][mutations][convergence]") {
  int runs = 3;
  if (const char* v = std::getenv("FIELDSYNC_CONVERGENCE_RUNS")) runs = std::max(1, std::atoi(v));
  std::uint64_t seed0 = 20261125;
  if (const char* v = std::getenv("FIELDSYNC_CONVERGENCE_SEED")) seed0 = std::strtoull(v, nullptr, 10);
  fresh_database db;
  const auto dsn = db.conninfo();
  exec_sql(dsn, "CREATE TABLE conv_items (run int, id int, owner text NOT NULL, title text, "
                "hits bigint NOT NULL DEFAULT 0, tags text[] NOT NULL DEFAULT '{}', note text, "
                "PRIMARY KEY (run, id))");
  server_process server(dsn, sections(db.name()));
  for (int run = 1; run <= runs; ++run) {
    converge_once(dsn, server.public_port(), run, seed0 + static_cast<std::uint64_t>(run));
  }
  CHECK(server.terminate() == 0);
}
