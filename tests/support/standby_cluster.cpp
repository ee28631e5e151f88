#include "tests/support/standby_cluster.hpp"

#include "storage/dev/subprocess.hpp"
#include "tests/support/libpq_handle.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fieldsync::test {

namespace fs = std::filesystem;
using storage::run_subprocess;
using storage::system_user;

namespace {

// PostgreSQL refuses to run as root: as root, its tools run as postgres.
const system_user* postgres_user() {
  static const std::optional<system_user> user =
      ::geteuid() == 0 ? storage::find_system_user("postgres") : std::nullopt;
  if (::geteuid() == 0 && !user) throw std::runtime_error("standby: no postgres system user");
  return user ? &*user : nullptr;
}

fs::path postgres_bin_dir() {
  try {
    auto r = run_subprocess({"pg_config", "--bindir"});
    std::string dir = r.output;
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
    if (r.exit_code == 0 && fs::exists(fs::path(dir) / "pg_basebackup")) return dir;
  } catch (const std::exception&) {
    // No pg_config: the Debian location.
  }
  return "/usr/lib/postgresql/15/bin";
}

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw std::runtime_error("standby: cannot create a socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(s);
    throw std::runtime_error("standby: cannot bind 127.0.0.1:0");
  }
  ::close(s);
  return ntohs(addr.sin_port);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

standby_cluster::standby_cluster(const storage::dev_cluster& primary)
    : dir_("fieldsync-standby"),
      cluster_dir_(dir_.path() / "pg"),
      log_file_(dir_.path() / "pg.log"),
      bin_dir_(postgres_bin_dir()),
      superuser_(primary.superuser()) {
  // pg_basebackup creates <dir>/pg and PostgreSQL writes its log next to it, as postgres.
  ::chmod(dir_.path().c_str(), 0755);
  if (const auto* u = postgres_user()) {
    if (::chown(dir_.path().c_str(), u->uid, u->gid) != 0) {
      throw std::runtime_error("standby: cannot chown " + dir_.path().string());
    }
  }
  // -R writes primary_conninfo (the primary's socket) and standby.signal; -X stream copies
  // the WAL written meanwhile; -c fast starts at once with a checkpoint.
  auto r = run_subprocess({(bin_dir_ / "pg_basebackup").string(), "-D", cluster_dir_.string(), "-R",
                           "-X", "stream", "-c", "fast", "-h", primary.socket_dir().string(), "-p",
                           std::to_string(primary.port()), "-U", primary.superuser()},
                          postgres_user());
  if (r.exit_code != 0) {
    throw std::runtime_error("pg_basebackup failed (exit " + std::to_string(r.exit_code) +
                             "): " + storage::last_lines(r.output, 5));
  }
  // The copied postgresql.conf names the primary's socket directory: the standby gets its
  // own (postgresql.auto.conf is read last and wins). The port is given at start.
  {
    std::ofstream conf(cluster_dir_ / "postgresql.auto.conf", std::ios::app);
    conf << "unix_socket_directories = '" << cluster_dir_.string() << "'\n"
         << "hot_standby = on\n";
    if (!conf) throw std::runtime_error("standby: cannot write postgresql.auto.conf");
  }
  port_ = free_port();
  pg_ctl(
      {"start", "-w", "-t", "60", "-l", log_file_.string(), "-o", "-p " + std::to_string(port_)});
  started_ = true;
}

standby_cluster::~standby_cluster() {
  try {
    stop("immediate");
  } catch (...) {
    // The directory goes anyway; a postmaster without its files exits on its own.
  }
}

std::string standby_cluster::conninfo(const std::string& dbname) const {
  return "host=" + cluster_dir_.string() + " port=" + std::to_string(port_) +
         " user=" + superuser_ + " dbname=" + dbname;
}

void standby_cluster::wait_caught_up(const std::string& primary_conninfo,
                                     std::chrono::seconds timeout) {
  std::string target;
  {
    auto c = pg_connect(primary_conninfo);
    auto r = pg_exec(c.get(), "SELECT pg_current_wal_lsn()::text");
    target = PQgetvalue(r.get(), 0, 0);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto c = pg_connect(conninfo("postgres"));
  for (;;) {
    auto r = pg_exec(c.get(), "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn");
    if (std::string(PQgetvalue(r.get(), 0, 0)) == "t") return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the standby did not replay up to " + target + " in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void standby_cluster::detach(std::chrono::seconds timeout) {
  auto c = pg_connect(conninfo("postgres"));
  // ALTER SYSTEM writes no WAL: a standby takes it.
  pg_exec(c.get(), "ALTER SYSTEM SET primary_conninfo = ''");
  pg_exec(c.get(), "SELECT pg_reload_conf()");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Gone, and what it received is replayed: the standby's data stays as it is now.
    auto r = pg_exec(c.get(),
                     "SELECT count(*) = 0 AND pg_last_wal_replay_lsn() >= "
                     "pg_last_wal_receive_lsn() FROM pg_stat_wal_receiver");
    if (std::string(PQgetvalue(r.get(), 0, 0)) == "t") return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the standby's WAL receiver did not stop");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void standby_cluster::promote() { pg_ctl({"promote", "-w", "-t", "60"}); }

bool standby_cluster::in_recovery() const {
  auto c = pg_connect(conninfo("postgres"));
  auto r = pg_exec(c.get(), "SELECT pg_is_in_recovery()");
  return std::string(PQgetvalue(r.get(), 0, 0)) == "t";
}

std::string standby_cluster::log_tail(std::size_t bytes) const {
  auto text = read_all(log_file_);
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

void standby_cluster::stop(const std::string& mode) {
  if (!started_ || !fs::exists(cluster_dir_ / "postmaster.pid")) return;
  pg_ctl({"stop", "-m", mode, "-w"}, false);
  started_ = false;
}

std::string standby_cluster::pg_ctl(const std::vector<std::string>& args, bool must_succeed) const {
  std::vector<std::string> argv{(bin_dir_ / "pg_ctl").string(), args.front(), "-D",
                                cluster_dir_.string()};
  argv.insert(argv.end(), args.begin() + 1, args.end());
  auto r = run_subprocess(argv, postgres_user());
  if (r.exit_code != 0 && must_succeed) {
    throw std::runtime_error("pg_ctl " + args.front() + " failed for the standby (exit " +
                             std::to_string(r.exit_code) +
                             "): " + storage::last_lines(r.output, 3) + "; log: " + log_tail(1500));
  }
  return r.output;
}

}  // namespace fieldsync::test
