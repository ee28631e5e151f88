// fieldsync_test_cluster start|stop STATEFILE: the throwaway PostgreSQL cluster of one ctest
// run (fixtures pg_cluster_start and pg_cluster_stop).
//
// The state file is what tests/support/pg_test_db reads; its format is fixed: one key=value
// per line, keys host (the unix socket directory), port, user and data_dir.

#include "storage/dev/dev_cluster.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

namespace fs = std::filesystem;
using fieldsync::storage::dev_cluster;
using fieldsync::storage::dev_cluster_options;

namespace {

constexpr std::string_view temp_prefix = "/tmp/fieldsync-test-";

// Durability costs time and buys nothing for a cluster that lives for one test run; the
// connection and wal_sender_timeout settings fit parallel pg and e2e tests.
dev_cluster_options test_options(const fs::path& data_dir) {
  dev_cluster_options o;
  o.data_dir = data_dir;
  o.extra_settings = {"fsync = off", "synchronous_commit = off", "full_page_writes = off",
                      "max_connections = 300", "wal_sender_timeout = 10s"};
  return o;
}

std::map<std::string, std::string> read_state(const fs::path& file) {
  std::map<std::string, std::string> state;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) state[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return state;
}

void write_state(const fs::path& file, const dev_cluster& c) {
  // Written to a temporary name and renamed, so a reader never sees half a file.
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "host=" << c.socket_dir().string() << "\n"
        << "port=" << c.port() << "\n"
        << "user=" << c.superuser() << "\n"
        << "data_dir=" << c.data_dir().string() << "\n";
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, file);
}

// Stops the cluster in data_dir and removes the directory; only ever our own temp dirs.
void stop_and_remove(const fs::path& data_dir) {
  if (data_dir.string().rfind(temp_prefix, 0) != 0) {
    throw std::runtime_error("refusing to remove " + data_dir.string() + ": not a " +
                             std::string(temp_prefix) + "* directory");
  }
  dev_cluster(test_options(data_dir)).stop();
  fs::remove_all(data_dir);
}

// A state file at start means a run that was killed before its stop fixture, or another
// run in the same build directory right now. Its cluster is left alone (stopping it could
// pull the database from under that other run); the note says how to stop it by hand.
void note_previous(const fs::path& state_file) {
  if (!fs::exists(state_file)) return;
  auto state = read_state(state_file);
  auto it = state.find("data_dir");
  if (it == state.end() || !fs::exists(it->second)) return;
  std::cout << "note: the previous state file named the cluster in " << it->second
            << ", left alone; if no other test run uses it: pg_ctl stop -D " << it->second
            << "/pg (as postgres when root), then remove the directory\n";
}

int start(const fs::path& state_file) {
  note_previous(state_file);
  std::string dir = std::string(temp_prefix) + "XXXXXX";
  if (!::mkdtemp(dir.data())) {
    std::cerr << "fieldsync_test_cluster: mkdtemp " << dir << " failed\n";
    return 1;
  }
  try {
    // mkdtemp makes the directory 0700; as root the cluster runs as postgres, which must
    // get through it.
    ::chmod(dir.c_str(), 0755);
    dev_cluster cluster(test_options(dir));
    cluster.start();
    write_state(state_file, cluster);
    std::cout << "PostgreSQL test cluster: " << cluster.conninfo() << " (state in " << state_file.string()
              << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fieldsync_test_cluster start: " << e.what() << "\n";
    try {
      stop_and_remove(dir);
    } catch (const std::exception&) {
      // The start error is the one worth reporting.
    }
    return 1;
  }
}

int stop(const fs::path& state_file) {
  if (!fs::exists(state_file)) {
    std::cout << "no " << state_file.string() << ": no test cluster to stop\n";
    return 0;
  }
  auto state = read_state(state_file);
  auto it = state.find("data_dir");
  if (it == state.end()) {
    std::cerr << "fieldsync_test_cluster stop: " << state_file.string() << " has no data_dir line\n";
    return 1;
  }
  try {
    stop_and_remove(it->second);
    fs::remove(state_file);
    std::cout << "stopped and removed the test cluster in " << it->second << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fieldsync_test_cluster stop: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string_view(argv[1]) != "start" && std::string_view(argv[1]) != "stop")) {
    std::cerr << "usage: fieldsync_test_cluster start|stop STATEFILE\n";
    return 1;
  }
  fs::path state_file = fs::absolute(argv[2]);
  return std::string_view(argv[1]) == "start" ? start(state_file) : stop(state_file);
}
