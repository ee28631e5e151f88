// storage/dev_cluster against the real PostgreSQL 15 binaries: each test makes its own
// cluster in a temporary directory (as the postgres user when the tests run as root) and
// stops it whatever happens.

#include "storage/dev/dev_cluster.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

using fieldsync::storage::dev_cluster;
using fieldsync::storage::dev_cluster_error;
using fieldsync::storage::dev_cluster_options;
using fieldsync::test::temp_dir;
namespace fs = std::filesystem;

namespace {

// The temp dir is 0700 (mkdtemp); the postgres user must get through it.
std::unique_ptr<temp_dir> traversable_temp_dir() {
  auto dir = std::make_unique<temp_dir>("fieldsync-devcluster");
  ::chmod(dir->path().c_str(), 0755);
  return dir;
}

dev_cluster_options fast_options(const fs::path& data_dir) {
  dev_cluster_options o;
  o.data_dir = data_dir;
  o.database = "devtest";
  o.extra_settings = {"fsync = off", "synchronous_commit = off"};
  return o;
}

// Stops the cluster when the test ends, even when an assertion failed.
struct stop_guard {
  dev_cluster& cluster;
  ~stop_guard() {
    try {
      cluster.stop();
    } catch (const std::exception& e) {
      WARN("stopping the test cluster: " << e.what());
    }
  }
};

// The first column of the first row, or "ERROR: ..." when the query failed.
std::string query_one(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return "ERROR: " + std::string(PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto status = PQresultStatus(res.get());
  if (status == PGRES_COMMAND_OK) return "";
  if (status != PGRES_TUPLES_OK) return "ERROR: " + std::string(PQerrorMessage(conn.get()));
  return PQntuples(res.get()) > 0 ? PQgetvalue(res.get(), 0, 0) : "";
}

std::string postmaster_pid(const dev_cluster& c) {
  std::ifstream in(c.cluster_dir() / "postmaster.pid");
  std::string pid;
  std::getline(in, pid);
  return pid;
}

}  // namespace

TEST_CASE("dev_cluster starts, answers, stops, and reuses its data and a running postmaster", "[pg][dev_cluster]") {
  auto dir = traversable_temp_dir();
  const auto opts = fast_options(dir->path() / "data");

  dev_cluster first(opts);
  stop_guard guard{first};
  first.start();
  CHECK(first.created_now());
  CHECK_FALSE(first.reused_running());
  CHECK(first.port() > 0);
  CHECK(first.socket_dir() == dir->path() / "data" / "pg");
  CHECK(fs::exists(first.log_file()));
  CHECK(first.conninfo() == "host=" + first.socket_dir().string() + " port=" + std::to_string(first.port()) +
                                " user=fieldsync dbname=devtest");

  const std::string ci = first.conninfo();
  CHECK(query_one(ci, "SELECT current_database()") == "devtest");
  CHECK(query_one(ci, "SELECT current_user") == "fieldsync");
  CHECK(query_one(ci, "SHOW wal_level") == "logical");
  CHECK(query_one(ci, "SHOW max_replication_slots") == "20");
  CHECK(query_one(ci, "SHOW max_wal_senders") == "20");
  CHECK(query_one(ci, "SHOW listen_addresses") == "127.0.0.1");
  CHECK(query_one(ci, "SHOW fsync") == "off");  // the extra settings arrive
  CHECK(query_one(ci, "SHOW server_encoding") == "UTF8");
  CHECK(query_one(ci, "SELECT current_setting('server_version_num')::int / 10000") == "15");
  if (::geteuid() == 0) {
    struct stat st {};
    REQUIRE(::stat(first.cluster_dir().c_str(), &st) == 0);
    CHECK(st.st_uid != 0);  // the cluster belongs to postgres, not root
  }
  REQUIRE(query_one(ci, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)").empty());

  SECTION("a running postmaster is reused, not restarted") {
    const std::string pid = postmaster_pid(first);
    dev_cluster again(opts);
    again.start();
    CHECK_FALSE(again.created_now());
    CHECK(again.reused_running());
    CHECK(again.port() == first.port());
    CHECK(postmaster_pid(again) == pid);
    CHECK(query_one(again.conninfo(), "SELECT x FROM kept") == "42");
  }

  SECTION("stop() stops it, a second stop() is harmless, and a new start() keeps the data") {
    const std::string ping = first.conninfo("postgres");
    first.stop();
    CHECK_FALSE(fs::exists(first.cluster_dir() / "postmaster.pid"));
    CHECK(PQping(ping.c_str()) == PQPING_NO_RESPONSE);
    CHECK_NOTHROW(first.stop());

    dev_cluster second(opts);
    stop_guard second_guard{second};
    second.start();
    CHECK_FALSE(second.created_now());
    CHECK_FALSE(second.reused_running());
    CHECK(query_one(second.conninfo(), "SELECT x FROM kept") == "42");
    CHECK(query_one(second.conninfo(), "SHOW wal_level") == "logical");
  }
}

TEST_CASE("dev_cluster quotes the PostgreSQL log when the server does not start", "[pg][dev_cluster]") {
  auto dir = traversable_temp_dir();
  auto opts = fast_options(dir->path() / "data");
  opts.extra_settings.push_back("shared_buffers = plenty");
  dev_cluster cluster(opts);
  stop_guard guard{cluster};
  try {
    cluster.start();
    FAIL("start() should have failed");
  } catch (const dev_cluster_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("pg_ctl start failed for " + cluster.cluster_dir().string()) != std::string::npos);
    CHECK(what.find("shared_buffers") != std::string::npos);  // from the log tail
    CHECK(what.find('\n') == std::string::npos);
  }
}

TEST_CASE("dev_cluster fails with one clear line for unusable options", "[pg][dev_cluster]") {
  auto dir = traversable_temp_dir();

  SECTION("no PostgreSQL binaries") {
    auto opts = fast_options(dir->path() / "data");
    opts.bin_dir = dir->path() / "nowhere";
    dev_cluster cluster(opts);
    try {
      cluster.start();
      FAIL("start() should have failed");
    } catch (const dev_cluster_error& e) {
      const std::string what = e.what();
      CHECK(what.find((dir->path() / "nowhere").string()) != std::string::npos);
      CHECK(what.find("postgresql-15") != std::string::npos);
    }
  }

  SECTION("a data directory too long for a unix socket path") {
    auto opts = fast_options(dir->path() / std::string(90, 'x'));
    dev_cluster cluster(opts);
    try {
      cluster.start();
      FAIL("start() should have failed");
    } catch (const dev_cluster_error& e) {
      const std::string what = e.what();
      CHECK(what.find("107") != std::string::npos);
      CHECK(what.find("--data-dir") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(opts.data_dir));  // checked before anything is created
  }

  SECTION("a setting that is not one line") {
    auto opts = fast_options(dir->path() / "data");
    opts.extra_settings.push_back("fsync = off\nlisten_addresses = '*'");
    CHECK_THROWS_AS(dev_cluster(opts), dev_cluster_error);
  }

  SECTION("as root, a data directory the postgres user cannot reach") {
    if (::geteuid() != 0) {
      SUCCEED("not root: the cluster runs as the current user");
      return;
    }
    const fs::path closed = dir->path() / "closed";
    fs::create_directory(closed);
    ::chmod(closed.c_str(), 0700);
    dev_cluster cluster(fast_options(closed / "data"));
    try {
      cluster.start();
      FAIL("start() should have failed");
    } catch (const dev_cluster_error& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("postgres user") != std::string::npos);
      CHECK(what.find(closed.string()) != std::string::npos);
      CHECK(what.find("--data-dir") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(closed / "data"));  // refused before anything was created
  }
}
