#pragma once
// A private PostgreSQL 15 cluster for `fieldsync dev` and for the test run: initdb on first
// use, the settings logical replication needs, a free loopback port, and reuse of a
// postmaster that is already running on the same data.
//
// Layout: the cluster lives in <data_dir>/pg (which is also its unix socket directory) and
// the server log in <data_dir>/pg.log.
//
// Access (docs/security.md, "The dev cluster"): the unix socket is the owner's only (its
// directory is 0700, the socket 0700) and needs no password; TCP, on 127.0.0.1 only, needs
// the superuser's password (scram-sha-256), generated once and kept in
// <data_dir>/pg-password (0600). <data_dir>/pg-conninfo (0600, rewritten at every start)
// holds a TCP connection string with it, for tools. pg_hba.conf is rewritten and the
// password set at every start, so a data directory made when the cluster trusted every
// local user is closed on its next start.
//
// PostgreSQL refuses to run as root. When this process is root, initdb and pg_ctl run as
// the `postgres` system user (created by the postgresql-15 package), <data_dir>/pg and the
// log belong to that user, and every directory on the way to <data_dir> must be
// searchable by it.
//
// Concurrency contract: start-up code only. Every call blocks (fork/exec/waitpid and a
// synchronous libpq connection), so it runs before the reactor or on a thread of its own;
// one dev_cluster is used by one thread at a time. Failures throw dev_cluster_error.
//
// Destruction does not stop the cluster: the test fixture starts it in one process and
// stops it in another, and `fieldsync dev` stops it explicitly after the server. Call
// stop().

#include "storage/dev/subprocess.hpp"

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::storage {

// what() is one line naming the path or command that failed; when the postmaster does not
// start it ends with the last lines of the PostgreSQL log.
class dev_cluster_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct dev_cluster_options {
  std::filesystem::path data_dir;
  // Where initdb and pg_ctl are. Empty: `pg_config --bindir` when that directory has an
  // initdb, else /usr/lib/postgresql/15/bin.
  std::filesystem::path bin_dir;
  std::string superuser = "fieldsync";
  std::string database = "fieldsync";
  // Extra postgresql.conf lines, "key = value" (the tests turn fsync off, for example).
  std::vector<std::string> extra_settings;
};

class dev_cluster {
 public:
  explicit dev_cluster(dev_cluster_options opts);

  // Makes the cluster run and the database exist: initdb when <data_dir>/pg has no
  // PG_VERSION, the settings block in postgresql.conf, then reuse of a running postmaster
  // or `pg_ctl start` on a free port (another port when that one was taken meanwhile).
  // A reused postmaster keeps the settings it started with until it restarts.
  void start();

  // `pg_ctl stop -m <mode> -w` (fast, or immediate: a crash); nothing to do when no
  // postmaster.pid exists.
  void stop(std::string_view mode = "fast");

  // `pg_ctl restart -m <mode>` on the same port (the fault tests restart PostgreSQL
  // under load; clients reconnect to the same address).
  void restart(std::string_view mode = "fast");

  int port() const noexcept { return port_; }
  const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
  const std::filesystem::path& cluster_dir() const noexcept { return cluster_dir_; }
  const std::filesystem::path& socket_dir() const noexcept { return cluster_dir_; }
  const std::filesystem::path& log_file() const noexcept { return log_file_; }
  const std::string& superuser() const noexcept { return opts_.superuser; }
  const std::string& database() const noexcept { return opts_.database; }

  // "host=<socket dir> port=<p> user=<superuser> dbname=<dbname>" (values quoted only
  // when they need it).
  std::string conninfo(std::string_view dbname) const;
  std::string conninfo() const { return conninfo(opts_.database); }
  // "host=127.0.0.1 port=<p> user=<superuser> password=<password> dbname=<dbname>".
  std::string tcp_conninfo(std::string_view dbname) const;
  const std::filesystem::path& password_file() const noexcept { return password_file_; }
  const std::filesystem::path& conninfo_file() const noexcept { return conninfo_file_; }

  // initdb ran in the last start().
  bool created_now() const noexcept { return created_now_; }
  // The last start() found the postmaster running and left it alone.
  bool reused_running() const noexcept { return reused_running_; }

 private:
  void resolve_binaries();
  void prepare_directories();
  void init_cluster();
  void load_password();
  void write_settings();
  void write_hba();
  void set_password();
  void write_conninfo_file();
  void write_private_file(const std::filesystem::path& p, const std::string& text) const;
  bool postmaster_answers();
  void start_postmaster();
  void ensure_database();
  subprocess_result pg_ctl(std::vector<std::string> args) const;
  subprocess_result run(const std::vector<std::string>& argv) const;

  dev_cluster_options opts_;
  std::filesystem::path data_dir_;
  std::filesystem::path cluster_dir_;
  std::filesystem::path log_file_;
  std::filesystem::path bin_dir_;
  std::filesystem::path password_file_;
  std::filesystem::path conninfo_file_;
  std::string password_;
  std::optional<system_user> run_as_;  // set when we are root: PostgreSQL runs as postgres
  int port_ = 0;
  bool created_now_ = false;
  bool reused_running_ = false;
  bool binaries_resolved_ = false;
};

}  // namespace fieldsync::storage
