#include "tests/support/feed_workload.hpp"

#include "tests/support/libpq_handle.hpp"

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fieldsync::test {

namespace {

// True when the statement succeeded.
bool run(PGconn* c, const std::string& sql) {
  pg_result_ptr r(PQexec(c, sql.c_str()), &PQclear);
  auto st = PQresultStatus(r.get());
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

constexpr const char* schema_sql = R"sql(
CREATE TABLE t_items (id bigint PRIMARY KEY, grp int NOT NULL, val text, n bigint NOT NULL DEFAULT 0,
                      big text);
CREATE TABLE t_pairs (a int NOT NULL, b text NOT NULL, v int, PRIMARY KEY (a, b));
CREATE TABLE t_noise (id bigserial PRIMARY KEY, payload text);
-- Set here rather than by fieldsync: tests hold transactions open on these tables while
-- fieldsync starts, and ALTER TABLE would wait for them.
ALTER TABLE t_items REPLICA IDENTITY FULL;
ALTER TABLE t_pairs REPLICA IDENTITY FULL;
CREATE TABLE feed_audit (seq bigserial PRIMARY KEY, xid bigint NOT NULL, coll text NOT NULL,
                         key text NOT NULL, op "char" NOT NULL);
CREATE FUNCTION feed_audit_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO feed_audit (xid, coll, key, op)
  VALUES (txid_current() % 4294967296, 'items',
          CASE WHEN TG_OP = 'DELETE' THEN OLD.id::text ELSE NEW.id::text END,
          lower(left(TG_OP, 1)));
  RETURN NULL;
END $$;
CREATE FUNCTION feed_audit_pairs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r t_pairs;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  INSERT INTO feed_audit (xid, coll, key, op)
  VALUES (txid_current() % 4294967296, 'pairs', '[' || r.a || ',' || to_json(r.b)::text || ']',
          lower(left(TG_OP, 1)));
  RETURN NULL;
END $$;
CREATE TRIGGER t_items_audit AFTER INSERT OR UPDATE OR DELETE ON t_items
  FOR EACH ROW EXECUTE FUNCTION feed_audit_items();
CREATE TRIGGER t_pairs_audit AFTER INSERT OR UPDATE OR DELETE ON t_pairs
  FOR EACH ROW EXECUTE FUNCTION feed_audit_pairs();
)sql";

// Ids of writer w live in [w * 10^9, (w + 1) * 10^9): writers never wait on each other's
// row locks, so the workload has no deadlocks to retry (failures come from faults only).
struct writer_state {
  std::int64_t base = 0;
  std::int64_t next_id = 0;
  std::vector<std::int64_t> live;
};

std::string statement(writer_state& w, std::mt19937_64& rng, int writer) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  int kind = static_cast<int>(pick(100));
  if (w.live.size() < 20 || kind < 35) {
    auto id = w.next_id++;
    w.live.push_back(id);
    // Every tenth row carries a value big enough to be stored out of line (TOAST).
    std::string big = id % 10 == 0
                          ? "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 150) g)"
                          : "NULL";
    return "INSERT INTO t_items (id, grp, val, big) VALUES (" + std::to_string(id) + ", " +
           std::to_string(pick(50)) + ", 'v" + std::to_string(pick(1000)) + "', " + big + ")";
  }
  if (kind < 75) {
    auto id = w.live[pick(w.live.size())];
    // Leaves `big` alone: the stream carries it as "unchanged TOAST".
    return "UPDATE t_items SET n = n + 1, val = 'u" + std::to_string(pick(1000)) +
           "' WHERE id = " + std::to_string(id);
  }
  if (kind < 85) {
    auto i = pick(w.live.size());
    auto id = w.live[i];
    w.live[i] = w.live.back();
    w.live.pop_back();
    return "DELETE FROM t_items WHERE id = " + std::to_string(id);
  }
  auto a = std::to_string(writer * 1000 + static_cast<int>(pick(200)));
  auto b = "'k" + std::to_string(pick(20)) + "'";
  if (kind < 95) {
    return "INSERT INTO t_pairs (a, b, v) VALUES (" + a + ", " + b + ", 1) "
           "ON CONFLICT (a, b) DO UPDATE SET v = t_pairs.v + 1";
  }
  return "DELETE FROM t_pairs WHERE a = " + a + " AND b = " + b;
}

void writer_loop(const std::string& conninfo, const workload_options& opts, int writer,
                 std::uint64_t budget, const std::atomic<bool>* stop, workload_report& report) {
  std::mt19937_64 rng(opts.seed * 7919 + static_cast<std::uint64_t>(writer));
  writer_state w;
  w.base = static_cast<std::int64_t>(writer + 1) * 1'000'000'000;
  w.next_id = w.base;
  pg_conn_ptr conn(nullptr, &PQfinish);
  std::uint64_t done = 0;
  bool big_done = writer != 0 || opts.big_transaction_rows == 0;
  while (done < budget && !(stop && stop->load())) {
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset(PQconnectdb(conninfo.c_str()));
      if (PQstatus(conn.get()) != CONNECTION_OK) {
        conn.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the server is restarting
        continue;
      }
    }
    std::string txn = "BEGIN;";
    std::uint64_t n = 0;
    if (!big_done && done > budget / 3) {
      // One transaction bigger than the ingest's memory limit.
      txn += "INSERT INTO t_items (id, grp, val) SELECT " + std::to_string(w.next_id) +
             " + g, 0, 'bulk' FROM generate_series(0, " + std::to_string(opts.big_transaction_rows - 1) +
             ") g; UPDATE t_items SET n = n + 1 WHERE id BETWEEN " + std::to_string(w.next_id) +
             " AND " + std::to_string(w.next_id + opts.big_transaction_rows - 1) + ";";
      for (int i = 0; i < opts.big_transaction_rows; ++i) w.live.push_back(w.next_id + i);
      w.next_id += opts.big_transaction_rows;
      n = 2 * static_cast<std::uint64_t>(opts.big_transaction_rows);
      big_done = true;
    } else {
      auto statements = 1 + std::uniform_int_distribution<int>(0, 9)(rng);
      for (int i = 0; i < statements; ++i) {
        txn += statement(w, rng, writer) + ";";
        if (opts.noise && i % 3 == 0) txn += "INSERT INTO t_noise (payload) VALUES (repeat('x', 500));";
      }
      n = static_cast<std::uint64_t>(statements);
    }
    txn += "COMMIT";
    if (run(conn.get(), txn)) {
      ++report.committed_transactions;
    } else {
      // Outcome unknown (a commit may have happened before the connection died); the
      // audit knows. The writer's idea of which rows exist may now be wrong, which only
      // turns some later statements into no-ops.
      ++report.failed_transactions;
      run(conn.get(), "ROLLBACK");
    }
    done += n;
  }
}

}  // namespace

std::string feed_collections_toml() {
  return "[collections.items]\ntable = \"t_items\"\nprimary_key = [\"id\"]\n\n"
         "[collections.pairs]\ntable = \"t_pairs\"\nprimary_key = [\"a\", \"b\"]\n";
}

void create_feed_schema(const std::string& conninfo) { exec_sql(conninfo, schema_sql); }

workload_report run_feed_workload(const std::string& conninfo, const workload_options& opts,
                                  const std::atomic<bool>* stop) {
  std::vector<workload_report> reports(static_cast<std::size_t>(opts.writers));
  std::vector<std::thread> threads;
  auto budget = opts.changes / static_cast<std::uint64_t>(opts.writers);
  for (int i = 0; i < opts.writers; ++i) {
    threads.emplace_back([&, i] { writer_loop(conninfo, opts, i, budget, stop, reports[static_cast<std::size_t>(i)]); });
  }
  for (auto& t : threads) t.join();
  workload_report total;
  for (const auto& r : reports) {
    total.committed_transactions += r.committed_transactions;
    total.failed_transactions += r.failed_transactions;
  }
  return total;
}

void wait_for_log(const std::string& conninfo, int timeout_s) {
  static std::atomic<std::int64_t> marker{-1};
  auto id = std::to_string(marker--);
  exec_sql(conninfo, "INSERT INTO t_items (id, grp, val) VALUES (" + id + ", 0, 'marker')");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    std::string found;
    try {
      found = query_value(conninfo, "SELECT count(*) FROM fieldsync.rows WHERE collection = 'items' AND key = '" + id + "'");
    } catch (const std::exception&) {
      // no change log yet
    }
    if (found == "1") return;
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("the change log did not receive marker " << id << " within " << timeout_s << " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::uint64_t check_feed(const std::string& conninfo) {
  // Per transaction, the log's sequence of (collection, key, op) equals the audit's, and a
  // transaction appears at one commit LSN only: nothing missing, nothing doubled.
  auto mismatches = query_value(conninfo, R"sql(
    WITH l AS (SELECT xid, string_agg(collection || ':' || key || ':' || op::text, ',' ORDER BY lsn, idx) s,
                      count(DISTINCT lsn) lsns
                 FROM fieldsync.changes GROUP BY xid),
         a AS (SELECT xid, string_agg(coll || ':' || key || ':' || op::text, ',' ORDER BY seq) s
                 FROM feed_audit GROUP BY xid),
         d AS (SELECT coalesce(l.xid, a.xid) xid, l.s log_s, a.s audit_s, l.lsns
                 FROM l FULL JOIN a ON l.xid = a.xid
                WHERE l.s IS DISTINCT FROM a.s OR l.lsns > 1 LIMIT 5)
    SELECT coalesce(string_agg(xid || ' log=' || left(coalesce(log_s, '-'), 200) || ' audit=' ||
                               left(coalesce(audit_s, '-'), 200) || ' lsns=' || coalesce(lsns, 0),
                               E'\n'), '') FROM d
  )sql");
  INFO("transactions where the log and the audit differ:\n" << mismatches);
  CHECK(mismatches.empty());

  // The latest versions equal the tables.
  auto state = query_value(conninfo, R"sql(
    WITH src AS (
      SELECT 'items' c, id::text k,
             jsonb_build_object('id', id, 'grp', grp, 'val', val, 'n', n, 'big', big) j FROM t_items
      UNION ALL
      SELECT 'pairs', '[' || a || ',' || to_json(b)::text || ']', jsonb_build_object('a', a, 'b', b, 'v', v)
        FROM t_pairs),
    r AS (SELECT collection c, key k, "row" j FROM fieldsync.rows WHERE NOT deleted),
    d AS (SELECT coalesce(src.c, r.c) c, coalesce(src.k, r.k) k, src.j tj, r.j lj
            FROM src FULL JOIN r ON src.c = r.c AND src.k = r.k
           WHERE src.j IS DISTINCT FROM r.j LIMIT 5)
    SELECT coalesce(string_agg(c || '/' || k || ' table=' || left(coalesce(tj::text, '-'), 120) ||
                               ' log=' || left(coalesce(lj::text, '-'), 120), E'\n'), '') FROM d
  )sql");
  INFO("rows where the log's latest version and the table differ:\n" << state);
  CHECK(state.empty());
  return std::stoull(query_value(conninfo, "SELECT count(DISTINCT xid) FROM feed_audit"));
}

std::string query_value(const std::string& conninfo, const std::string& sql) {
  auto c = pg_connect(conninfo);
  pg_result_ptr r(PQexec(c.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql.substr(0, 80) + ": " + PQresultErrorMessage(r.get()));
  }
  if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 1) {
    throw std::runtime_error(sql.substr(0, 80) + ": not one value");
  }
  return PQgetisnull(r.get(), 0, 0) ? std::string() : std::string(PQgetvalue(r.get(), 0, 0));
}

void exec_sql(const std::string& conninfo, const std::string& sql) {
  auto c = pg_connect(conninfo);
  pg_result_ptr r(PQexec(c.get(), sql.c_str()), &PQclear);
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql.substr(0, 80) + ": " + PQresultErrorMessage(r.get()));
  }
}

}  // namespace fieldsync::test
