#include "storage/dev/dev_cluster.hpp"
#include "storage/sqlstate.hpp"

#include "storage/pg_error.hpp"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <locale.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>

namespace fieldsync::storage {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view settings_begin =
    "# --- fieldsync dev_cluster settings: rewritten at every start, edit elsewhere ---";
constexpr std::string_view settings_end = "# --- end of fieldsync dev_cluster settings ---";

// sun_path is 108 bytes including the terminating NUL; PostgreSQL names its socket
// <dir>/.s.PGSQL.<port>, and a port has at most five digits.
constexpr std::size_t max_socket_path = 107;
constexpr std::string_view longest_socket_name = ".s.PGSQL.65535";

// A port picked by binding port 0 can be taken by someone else before the postmaster binds
// it; that race gets this many more tries with a new port.
constexpr int port_retries = 3;

constexpr auto answer_timeout = std::chrono::seconds(60);

std::string one_line(std::string_view text) {
  std::string out = last_lines(text, 5);
  return out.empty() ? "(no output)" : out;
}

// conninfo values: quoted only when they must be, so the common case stays readable.
std::string conninfo_value(std::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \t\n\r'\\") == std::string_view::npos;
  if (plain) return std::string(v);
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string conf_string(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string read_file(const fs::path& p, std::uintmax_t from = 0) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(from));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::uintmax_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::string read_tail(const fs::path& p, std::uintmax_t bytes) {
  auto size = size_or_zero(p);
  return read_file(p, size > bytes ? size - bytes : 0);
}

bool c_utf8_locale_exists() {
  locale_t l = ::newlocale(LC_ALL_MASK, "C.UTF-8", nullptr);
  if (!l) return false;
  ::freelocale(l);
  return true;
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw dev_cluster_error(std::string("cannot create a socket to find a free port: ") +
                            std::generic_category().message(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw dev_cluster_error(std::string("cannot bind 127.0.0.1:0 to find a free port: ") +
                            std::generic_category().message(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Line 4 of postmaster.pid is the port (see the PostgreSQL source, miscadmin.h:
// LOCK_FILE_LINE_PORT).
int port_from_pid_file(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  std::string line;
  int lines = 0;
  while (lines < 4 && std::getline(in, line)) ++lines;
  try {
    int port = lines == 4 ? std::stoi(line) : 0;
    if (port > 0 && port < 65536) return port;
  } catch (const std::exception&) {
    // not a number: reported below
  }
  throw dev_cluster_error("cannot read the port from line 4 of " + pid_file.string());
}

struct pg_conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct pg_result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

}  // namespace

dev_cluster::dev_cluster(dev_cluster_options opts) : opts_(std::move(opts)) {
  if (opts_.data_dir.empty()) throw dev_cluster_error("dev cluster: empty data directory");
  data_dir_ = fs::absolute(opts_.data_dir).lexically_normal();
  if (!data_dir_.has_filename()) data_dir_ = data_dir_.parent_path();  // drop a trailing slash
  cluster_dir_ = data_dir_ / "pg";
  log_file_ = data_dir_ / "pg.log";
  password_file_ = data_dir_ / "pg-password";
  conninfo_file_ = data_dir_ / "pg-conninfo";
  if (opts_.superuser.empty()) throw dev_cluster_error("dev cluster: empty superuser name");
  if (opts_.database.empty()) throw dev_cluster_error("dev cluster: empty database name");
  for (const auto& s : opts_.extra_settings) {
    if (s.find_first_of("\n\r") != std::string::npos || s.find('=') == std::string::npos) {
      throw dev_cluster_error("dev cluster: setting \"" + s + "\" is not one line of the form key = value");
    }
  }
}

std::string dev_cluster::conninfo(std::string_view dbname) const {
  return "host=" + conninfo_value(cluster_dir_.string()) + " port=" + std::to_string(port_) +
         " user=" + conninfo_value(opts_.superuser) + " dbname=" + conninfo_value(dbname);
}

std::string dev_cluster::tcp_conninfo(std::string_view dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=" + conninfo_value(opts_.superuser) + " password=" + conninfo_value(password_) +
         " dbname=" + conninfo_value(dbname);
}

void dev_cluster::start() {
  created_now_ = false;
  reused_running_ = false;
  resolve_binaries();
  prepare_directories();
  init_cluster();
  load_password();
  write_settings();
  write_hba();
  if (postmaster_answers()) {
    reused_running_ = true;
  } else {
    start_postmaster();
  }
  set_password();
  ensure_database();
  write_conninfo_file();
}

void dev_cluster::restart(std::string_view mode) {
  resolve_binaries();
  auto r = pg_ctl({"restart", "-m", std::string(mode), "-w", "-t", "60", "-l", log_file_.string(),
                   "-o", "-p " + std::to_string(port_)});
  if (r.exit_code != 0) {
    throw dev_cluster_error("pg_ctl restart failed for " + cluster_dir_.string() + " (exit " +
                            std::to_string(r.exit_code) + "): " + one_line(r.output));
  }
}

void dev_cluster::stop(std::string_view mode) {
  resolve_binaries();
  if (!fs::exists(cluster_dir_ / "postmaster.pid")) return;
  auto r = pg_ctl({"stop", "-m", std::string(mode), "-w"});
  if (r.exit_code == 0) return;
  // A stale postmaster.pid (the postmaster died without cleaning up) is not a failure to
  // stop: what we wanted, no running server, is already true.
  if (pg_ctl({"status"}).exit_code == 3) return;
  throw dev_cluster_error("pg_ctl stop failed for " + cluster_dir_.string() + " (exit " +
                          std::to_string(r.exit_code) + "): " + one_line(r.output));
}

void dev_cluster::resolve_binaries() {
  if (binaries_resolved_) return;
  if (!opts_.bin_dir.empty()) {
    bin_dir_ = opts_.bin_dir;
  } else {
    try {
      auto r = run_subprocess({"pg_config", "--bindir"});
      std::string dir = r.output;
      while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r' || dir.back() == ' ')) dir.pop_back();
      if (r.exit_code == 0 && !dir.empty() && fs::exists(fs::path(dir) / "initdb")) bin_dir_ = dir;
    } catch (const std::exception&) {
      // No pg_config at all: the Debian location below is the answer.
    }
    if (bin_dir_.empty()) bin_dir_ = "/usr/lib/postgresql/15/bin";
  }
  if (!fs::exists(bin_dir_ / "initdb") || !fs::exists(bin_dir_ / "pg_ctl")) {
    throw dev_cluster_error("initdb/pg_ctl not found in " + bin_dir_.string() +
                            ": install the postgresql-15 package (apt-get install postgresql-15)");
  }
  if (::geteuid() == 0) {
    run_as_ = find_system_user("postgres");
    if (!run_as_) {
      throw dev_cluster_error(
          "running as root, but there is no 'postgres' system user to run PostgreSQL as "
          "(it refuses root): install the postgresql-15 package or run as an unprivileged user");
    }
  }
  binaries_resolved_ = true;
}

void dev_cluster::prepare_directories() {
  auto socket_path = (cluster_dir_ / longest_socket_name).string();
  if (socket_path.size() > max_socket_path) {
    throw dev_cluster_error("unix socket path " + (cluster_dir_ / ".s.PGSQL.<port>").string() + " can be " +
                            std::to_string(socket_path.size()) + " bytes, over the " +
                            std::to_string(max_socket_path) +
                            "-byte limit of unix sockets: use a shorter --data-dir");
  }

  // Checked on the part that exists before anything is created, so a refused path leaves
  // no directories behind, and again once the rest exists.
  auto check_reachable = [this](const fs::path& p) {
    if (auto blocked = first_unsearchable_dir(*run_as_, p)) {
      throw dev_cluster_error("the postgres user (PostgreSQL refuses to run as root) cannot traverse " +
                              blocked->string() + " to reach " + data_dir_.string() +
                              ": use --data-dir under /tmp or another path every user can traverse");
    }
  };
  std::error_code ec;
  const bool created = !fs::exists(data_dir_, ec);
  if (run_as_ && created) {
    fs::path existing = data_dir_.parent_path();
    while (!existing.empty() && existing != existing.root_path() && !fs::exists(existing, ec)) {
      existing = existing.parent_path();
    }
    check_reachable(existing);
  }
  fs::create_directories(data_dir_, ec);
  if (ec) throw dev_cluster_error("cannot create data directory " + data_dir_.string() + ": " + ec.message());
  if (run_as_) {
    // A directory we made ourselves must let the postgres user through to its pg/.
    if (created) {
      fs::permissions(data_dir_, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add, ec);
    }
    check_reachable(data_dir_);
  }

  if (!fs::exists(cluster_dir_)) {
    fs::create_directory(cluster_dir_, ec);
    if (ec) throw dev_cluster_error("cannot create " + cluster_dir_.string() + ": " + ec.message());
    // initdb insists on 0700 (or 0750) for a directory it did not create itself.
    fs::permissions(cluster_dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0)
    throw dev_cluster_error("cannot create " + log_file_.string() + ": " +
                            std::generic_category().message(errno));
  ::close(fd);
  if (run_as_) {
    for (const auto& p : {cluster_dir_, log_file_}) {
      if (::chown(p.c_str(), run_as_->uid, run_as_->gid) != 0) {
        throw dev_cluster_error("cannot chown " + p.string() +
                                " to postgres: " + std::generic_category().message(errno));
      }
    }
  }
}

void dev_cluster::init_cluster() {
  if (fs::exists(cluster_dir_ / "PG_VERSION")) return;
  std::vector<std::string> args{(bin_dir_ / "initdb").string(), "-D", cluster_dir_.string(), "-U",
                                opts_.superuser,
                                // Trust on the owner's socket only; write_hba() sets the rest
                                // before the postmaster first starts.
                                "--auth-local=trust", "--auth-host=reject", "-E", "UTF8",
                                c_utf8_locale_exists() ? "--locale=C.UTF-8" : "--no-locale"};
  auto r = run(args);
  if (r.exit_code != 0) {
    throw dev_cluster_error("initdb failed for " + cluster_dir_.string() + " (exit " +
                            std::to_string(r.exit_code) + "): " + one_line(r.output));
  }
  created_now_ = true;
}

void dev_cluster::write_settings() {
  const fs::path conf = cluster_dir_ / "postgresql.conf";
  std::string text = read_file(conf);
  if (text.empty()) throw dev_cluster_error("cannot read " + conf.string());

  // Replace our block, keep everything else (including edits by hand) as it is.
  auto begin = text.find(settings_begin);
  if (begin != std::string::npos) {
    auto end = text.find(settings_end, begin);
    end = end == std::string::npos ? text.size() : end + settings_end.size();
    if (end < text.size() && text[end] == '\n') ++end;
    text.erase(begin, end - begin);
  }
  if (!text.empty() && text.back() != '\n') text += '\n';

  text += settings_begin;
  text += '\n';
  text += "listen_addresses = '127.0.0.1'\n";
  text += "unix_socket_directories = " + conf_string(cluster_dir_.string()) + "\n";
  // The socket needs no password (pg_hba.conf): only its owner may reach it.
  text += "unix_socket_permissions = 0700\n";
  text += "password_encryption = 'scram-sha-256'\n";
  text += "wal_level = logical\n";
  text += "max_replication_slots = 20\n";
  text += "max_wal_senders = 20\n";
  text += "shared_buffers = 128MB\n";
  for (const auto& s : opts_.extra_settings) text += s + "\n";
  text += settings_end;
  text += '\n';

  // Written in place, so the file keeps its owner (postgres when we are root).
  std::ofstream out(conf, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw dev_cluster_error("cannot write " + conf.string());
}

// The superuser's password: generated once, kept 0600 in the data directory.
void dev_cluster::load_password() {
  std::string text = read_file(password_file_);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() >= 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos) {
    password_ = std::move(text);
    ::chmod(password_file_.c_str(), 0600);
    return;
  }
  unsigned char bytes[24];
  int rnd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (rnd < 0 || ::read(rnd, bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) {
    if (rnd >= 0) ::close(rnd);
    throw dev_cluster_error("cannot read /dev/urandom for the dev cluster's password");
  }
  ::close(rnd);
  static constexpr char hex[] = "0123456789abcdef";
  std::string pw;
  for (unsigned char b : bytes) {
    pw += hex[b >> 4];
    pw += hex[b & 0xf];
  }
  write_private_file(password_file_, pw + "\n");
  password_ = std::move(pw);
}

void dev_cluster::write_private_file(const fs::path& p, const std::string& text) const {
  // Created 0600 (and made so, if it existed): it holds the superuser's password.
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0 ||
      ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw dev_cluster_error("cannot write " + p.string() + ": " +
                            std::generic_category().message(err));
  }
  ::close(fd);
}

void dev_cluster::write_hba() {
  const fs::path hba = cluster_dir_ / "pg_hba.conf";
  std::string text =
      "# Written by fieldsync's dev_cluster at every start: edits here are lost.\n"
      "# The unix socket (0700, in a 0700 directory) is its owner's only: no password.\n"
      "local   all           all                     trust\n"
      "local   replication   all                     trust\n"
      "# TCP, on 127.0.0.1 only, needs the password (pg-password in the data directory).\n"
      "host    all           all     127.0.0.1/32    scram-sha-256\n"
      "host    replication   all     127.0.0.1/32    scram-sha-256\n";
  // Written in place, so the file keeps its owner (postgres when we are root).
  std::ofstream out(hba, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw dev_cluster_error("cannot write " + hba.string());
}

// Over the socket, at every start: a cluster made before passwords gets one, and a reused
// postmaster rereads pg_hba.conf.
void dev_cluster::set_password() {
  const std::string ci = conninfo("postgres") + " connect_timeout=10";
  std::unique_ptr<PGconn, pg_conn_deleter> conn(PQconnectdb(ci.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw dev_cluster_error("cannot connect to " + conninfo("postgres") + ": " +
                            one_line(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  std::unique_ptr<char, decltype(&PQfreemem)> role(
      PQescapeIdentifier(conn.get(), opts_.superuser.c_str(), opts_.superuser.size()), &PQfreemem);
  // The statement carries the SCRAM verifier made here, never the password itself: a
  // statement can end up in the server's log (an error, log_statement).
  std::unique_ptr<char, decltype(&PQfreemem)> verifier(
      PQencryptPasswordConn(conn.get(), password_.c_str(), opts_.superuser.c_str(),
                            "scram-sha-256"),
      &PQfreemem);
  if (!verifier) {
    throw dev_cluster_error("cannot make the superuser's password verifier: " +
                            one_line(PQerrorMessage(conn.get())));
  }
  std::unique_ptr<char, decltype(&PQfreemem)> secret(
      PQescapeLiteral(conn.get(), verifier.get(), std::strlen(verifier.get())), &PQfreemem);
  if (!role || !secret) throw dev_cluster_error("cannot quote the superuser's name or password");
  const std::string sql = std::string("ALTER ROLE ") + role.get() + " PASSWORD " + secret.get() +
                          "; SELECT pg_reload_conf()";
  std::unique_ptr<PGresult, pg_result_deleter> done(PQexec(conn.get(), sql.c_str()));
  if (PQresultStatus(done.get()) != PGRES_TUPLES_OK) {
    throw dev_cluster_error("cannot set the superuser's password in " + cluster_dir_.string() +
                            ": " + one_line(PQerrorMessage(conn.get())));
  }
}

void dev_cluster::write_conninfo_file() {
  write_private_file(conninfo_file_, tcp_conninfo(opts_.database) + "\n");
}

bool dev_cluster::postmaster_answers() {
  const fs::path pid_file = cluster_dir_ / "postmaster.pid";
  if (!fs::exists(pid_file)) return false;
  if (pg_ctl({"status"}).exit_code != 0) return false;  // stale pid file: pg_ctl start copes
  port_ = port_from_pid_file(pid_file);

  // The postmaster may still be starting (or recovering) when another process just
  // launched it; wait until it accepts connections.
  const std::string ping = conninfo("postgres") + " connect_timeout=5";
  const auto deadline = std::chrono::steady_clock::now() + answer_timeout;
  for (;;) {
    PGPing p = PQping(ping.c_str());
    if (p == PQPING_OK) return true;
    if (p == PQPING_NO_ATTEMPT) throw dev_cluster_error("bad connection parameters for " + cluster_dir_.string());
    if (std::chrono::steady_clock::now() > deadline) {
      throw dev_cluster_error("the postmaster of " + cluster_dir_.string() + " runs (port " +
                              std::to_string(port_) + ") but does not accept connections: " +
                              one_line(read_tail(log_file_, 4096)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void dev_cluster::start_postmaster() {
  for (int attempt = 0;; ++attempt) {
    const int port = free_loopback_port();
    const auto log_offset = size_or_zero(log_file_);
    auto r = pg_ctl({"start", "-w", "-t", "60", "-l", log_file_.string(), "-o", "-p " + std::to_string(port)});
    if (r.exit_code == 0) {
      port_ = port;
      return;
    }
    std::string new_log = read_file(log_file_, log_offset);
    if (new_log.find("could not bind") != std::string::npos && attempt < port_retries) continue;
    throw dev_cluster_error("pg_ctl start failed for " + cluster_dir_.string() + " on port " + std::to_string(port) +
                            " (exit " + std::to_string(r.exit_code) + "), " + log_file_.string() + ": " +
                            one_line(new_log.empty() ? r.output : new_log));
  }
}

void dev_cluster::ensure_database() {
  if (opts_.database == "postgres") return;
  const std::string ci = conninfo("postgres") + " connect_timeout=10";
  std::unique_ptr<PGconn, pg_conn_deleter> conn(PQconnectdb(ci.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw dev_cluster_error("cannot connect to " + conninfo("postgres") + ": " +
                            one_line(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  const char* values[] = {opts_.database.c_str()};
  std::unique_ptr<PGresult, pg_result_deleter> found(
      PQexecParams(conn.get(), "SELECT 1 FROM pg_database WHERE datname = $1", 1, nullptr, values, nullptr,
                   nullptr, 0));
  if (PQresultStatus(found.get()) != PGRES_TUPLES_OK) {
    throw dev_cluster_error("cannot list the databases of " + cluster_dir_.string() + ": " +
                            one_line(PQerrorMessage(conn.get())));
  }
  if (PQntuples(found.get()) > 0) return;

  std::unique_ptr<char, decltype(&PQfreemem)> ident(
      PQescapeIdentifier(conn.get(), opts_.database.c_str(), opts_.database.size()), &PQfreemem);
  if (!ident) throw dev_cluster_error("cannot quote database name " + opts_.database);
  const std::string sql = std::string("CREATE DATABASE ") + ident.get();
  std::unique_ptr<PGresult, pg_result_deleter> created(PQexec(conn.get(), sql.c_str()));
  if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(created.get(), PG_DIAG_SQLSTATE);
    if (state && std::string_view(state) == sqlstate::duplicate_database) return;  // someone else created it meanwhile
    throw dev_cluster_error(sql + " failed in " + cluster_dir_.string() + ": " + one_line(PQerrorMessage(conn.get())));
  }
}

subprocess_result dev_cluster::pg_ctl(std::vector<std::string> args) const {
  std::vector<std::string> argv{(bin_dir_ / "pg_ctl").string(), args.front(), "-D", cluster_dir_.string()};
  argv.insert(argv.end(), args.begin() + 1, args.end());
  return run(argv);
}

subprocess_result dev_cluster::run(const std::vector<std::string>& argv) const {
  try {
    return run_subprocess(argv, run_as_ ? &*run_as_ : nullptr);
  } catch (const std::exception& e) {
    throw dev_cluster_error("cannot run " + argv.front() + ": " + e.what());
  }
}

}  // namespace fieldsync::storage
