#include "tests/support/pg_test_db.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <chrono>
#include <stdexcept>

#include <unistd.h>

namespace fieldsync::test {

namespace {

struct cluster_state {
  std::string host, port, user;
};

const cluster_state& state() {
  static const cluster_state s = [] {
    const char* file = std::getenv("FIELDSYNC_TEST_PG_STATE");
    if (!file || !*file) {
      throw std::runtime_error(
          "FIELDSYNC_TEST_PG_STATE is not set: run pg and e2e tests through ctest, whose "
          "fixture pg_cluster_start starts the test cluster");
    }
    std::ifstream in(file);
    if (!in) throw std::runtime_error(std::string("cannot read the test cluster state ") + file);
    std::map<std::string, std::string> kv;
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return cluster_state{kv["host"], kv["port"], kv["user"]};
  }();
  return s;
}

std::string conninfo_for(const std::string& dbname) {
  const auto& s = state();
  return "host=" + s.host + " port=" + s.port + " user=" + s.user + " dbname=" + dbname;
}

void exec_maintenance(const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(maintenance_conninfo().c_str()),
                                                    &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("test cluster: " + std::string(PQerrorMessage(conn.get())));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
  }
}

}  // namespace

std::string maintenance_conninfo() { return conninfo_for("postgres"); }

fresh_database::fresh_database() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  name_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(rd() % 100000);
  exec_maintenance("CREATE DATABASE \"" + name_ + "\" TEMPLATE template0");
}

fresh_database::~fresh_database() {
  try {
    // A database with a logical slot cannot be dropped, even WITH (FORCE). A slot whose
    // walsender was just terminated is released a moment later: retry briefly.
    exec_maintenance("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                     "WHERE database = '" + name_ + "' AND active_pid IS NOT NULL");
    for (int attempt = 0; attempt < 100; ++attempt) {
      try {
        exec_maintenance("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                         "WHERE database = '" + name_ + "'");
        break;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    exec_maintenance("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
  } catch (...) {
    // The cluster is thrown away at the end of the run anyway.
  }
}

std::string fresh_database::conninfo() const { return conninfo_for(name_); }

}  // namespace fieldsync::test
