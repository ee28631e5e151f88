#include "tests/support/sync_workload.hpp"

#include "server/access/jwt_verifier.hpp"
#include "tests/support/libpq_handle.hpp"

#include <libpq-fe.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>

namespace fieldsync::test {

namespace {

std::string payload(std::mt19937_64& rng, std::size_t bytes) {
  static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789 ";
  std::string out;
  out.reserve(bytes);
  for (std::size_t i = 0; i < bytes; ++i) out.push_back(abc[rng() % (sizeof(abc) - 1)]);
  return out;
}

}  // namespace

std::string live_sync_sections(const fresh_database& db, const std::string& extra,
                               const std::string& auth_lines,
                               const std::string& replication_lines) {
  return "[replication]\n"
         "slot = \"fs_" +
         db.name() +
         "\"\n"
         "publication = \"fs_" +
         db.name() +
         "\"\n"
         "heartbeat_interval_ms = 500\n"
         "max_transaction_bytes = 1048576\n" +
         replication_lines +
         "[auth]\n"
         "leeway_ms = 0\n" +
         auth_lines +
         "[auth.keys.test]\n"
         "alg = \"HS256\"\n"
         "secret = \"" +
         std::string(test_jwt_secret) +
         "\"\n"
         "[collections.items]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"territory_id = ANY($claims.territories)\"\n" +
         extra;
}

void create_items_schema(const std::string& conninfo) {
  auto c = pg_connect(conninfo);
  pg_exec(c.get(),
       "CREATE TABLE items (id bigint PRIMARY KEY, territory_id bigint NOT NULL, seq bigint NOT "
       "NULL DEFAULT 0, "
       "payload text NOT NULL DEFAULT '');"
       "ALTER TABLE items REPLICA IDENTITY FULL;");
}

void seed_items(const std::string& conninfo, int rows, int territories, std::int64_t first_id,
                std::size_t payload_bytes) {
  auto c = pg_connect(conninfo);
  pg_exec(c.get(), "INSERT INTO items (id, territory_id, payload) SELECT g, 1 + g % " +
                    std::to_string(territories) + ", repeat('x', " + std::to_string(payload_bytes) +
                    ") FROM generate_series(" + std::to_string(first_id) + ", " +
                    std::to_string(first_id + rows - 1) + ") g");
}

std::uint64_t run_items_workload(const std::string& conninfo, const items_workload& w,
                                 std::int64_t lo, std::int64_t hi, const std::atomic<bool>* stop,
                                 std::atomic<std::uint64_t>* progress) {
  auto c = pg_connect(conninfo);
  std::vector<std::int64_t> live;
  {
    auto r = pg_exec(c.get(), "SELECT id FROM items WHERE id >= " + std::to_string(lo) + " AND id < " +
                               std::to_string(hi) + " ORDER BY id");
    for (int i = 0; i < PQntuples(r.get()); ++i)
      live.push_back(std::stoll(PQgetvalue(r.get(), i, 0)));
  }
  std::int64_t next_id = std::max(w.first_id, live.empty() ? lo : live.back() + 1);
  std::mt19937_64 rng(w.seed);
  auto unit = [&] { return std::uniform_real_distribution<double>(0, 1)(rng); };
  auto territory = [&] {
    if (!w.only_territories.empty()) return w.only_territories[rng() % w.only_territories.size()];
    return static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(w.territories));
  };
  std::uint64_t done = 0;
  while (done < w.changes && !(stop && stop->load())) {
    const int n = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(w.max_per_transaction));
    std::string sql = "BEGIN;";
    for (int i = 0; i < n && done < w.changes; ++i, ++done) {
      double kind = unit();
      if (live.empty() || kind < w.insert_share) {
        if (next_id >= hi) throw std::runtime_error("workload: out of ids");
        const auto id = next_id++;
        live.push_back(id);
        sql += "INSERT INTO items (id, territory_id, payload) VALUES (" + std::to_string(id) +
               ", " + std::to_string(territory()) + ", '" + payload(rng, w.payload_bytes) + "');";
      } else if (kind < w.insert_share + w.delete_share) {
        const auto at = rng() % live.size();
        sql += "DELETE FROM items WHERE id = " + std::to_string(live[at]) + ";";
        live[at] = live.back();
        live.pop_back();
      } else {
        const auto id = live[rng() % live.size()];
        std::string set = "seq = seq + 1, payload = '" + payload(rng, w.payload_bytes) + "'";
        if (unit() < w.move_share) set += ", territory_id = " + std::to_string(territory());
        sql += "UPDATE items SET " + set + " WHERE id = " + std::to_string(id) + ";";
      }
    }
    sql += "COMMIT;";
    pg_exec(c.get(), sql);
    if (progress) progress->store(done);
  }
  return done;
}

std::string query_text(const std::string& conninfo, const std::string& sql) {
  auto c = pg_connect(conninfo);
  pg_result_ptr r(PQexec(c.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) == 0 ||
      PQgetisnull(r.get(), 0, 0))
    return {};
  return PQgetvalue(r.get(), 0, 0);
}

void wait_for_collection(const std::string& conninfo, const std::string& name, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (query_text(conninfo,
                    "SELECT loaded_lsn::text FROM fieldsync.collections WHERE name = '" +
                        name + "' AND failure IS NULL")
             .empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::string failure;
      try {
        failure = query_text(conninfo, "SELECT failure FROM fieldsync.collections WHERE name = '" +
                                           name + "'");
      } catch (const std::exception& e) {
        failure = e.what();
      }
      throw std::runtime_error("collection " + name + " was not loaded into the change log in time" +
                               (failure.empty() ? "" : ": " + failure));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void wait_for_collection(server_process& server, const std::string& conninfo,
                         const std::string& name, int timeout_s) {
  try {
    wait_for_collection(conninfo, name, timeout_s);
  } catch (const std::exception& e) {
    auto log = server.process().transcript();
    if (log.size() > 40000) log = "..." + log.substr(log.size() - 40000);
    throw std::runtime_error(std::string(e.what()) + "\nthe server's log:\n" + log);
  }
}

std::map<std::string, std::string> items_in(const std::string& conninfo,
                                            const std::vector<std::int64_t>& territories) {
  auto c = pg_connect(conninfo);
  std::string list;
  for (auto t : territories) list += (list.empty() ? "" : ",") + std::to_string(t);
  auto r = pg_exec(c.get(),
                "SELECT id, json_build_object('id', id, 'territory_id', territory_id, 'seq', seq, "
                "'payload', payload)::text FROM items WHERE territory_id IN (" +
                    list + ")");
  std::map<std::string, std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.emplace(PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1));
  return out;
}

std::string test_token(const std::string& subject, const std::vector<std::int64_t>& territories,
                       std::int64_t exp_offset_s) {
  boost::json::array t;
  for (auto x : territories) t.push_back(x);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  server::jwt_key key{"test", server::jwt_algorithm::hs256, test_jwt_secret};
  return server::mint_hs256(key,
                            {{"sub", subject}, {"territories", t}, {"exp", now + exp_offset_s}});
}

}  // namespace fieldsync::test
