#pragma once
// fieldsync nodes behind HAProxy for the cluster tests: each node is the real binary on
// fixed loopback ports (so a restarted node comes back where HAProxy looks for it), and
// HAProxy runs deploy/haproxy.cfg itself, with the addresses given through its
// environment variables and health checks on each node's /readyz.

#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fieldsync::test {

// A loopback port nothing listens on right now (bound to port 0, then released).
std::uint16_t free_loopback_port();
// Whether something accepts connections on this loopback port.
bool loopback_accepts(std::uint16_t port);

struct lb_cluster_options {
  int nodes = 3;
  std::chrono::milliseconds drain_delay{1000};  // server.drain_delay_ms of every node
  std::string check_inter = "200ms";            // HAProxy's check interval
  int check_fall = 2;
};

class lb_cluster {
 public:
  // Starts the nodes (`sections` as for server_process) and HAProxy; returns once every
  // node logged "ready" and HAProxy accepts.
  lb_cluster(std::string dsn, std::string sections, lb_cluster_options options = {});
  ~lb_cluster();
  lb_cluster(const lb_cluster&) = delete;
  lb_cluster& operator=(const lb_cluster&) = delete;

  std::uint16_t port() const noexcept { return lb_port_; }  // HAProxy's frontend
  int size() const noexcept { return static_cast<int>(ports_.size()); }
  bool running(int i) const { return nodes_.at(static_cast<std::size_t>(i)) != nullptr; }
  server_process& node(int i);

  // SIGKILL; returns once it exited.
  void kill(int i);
  // SIGTERM (the graceful drain); the exit code.
  int stop(int i);
  // Starts node i again on its ports; returns once it is ready and HAProxy's checks had
  // time to take it back (rise 2).
  void start(int i);
  // The node whose /admin/v1/status says it leads the ingest, or -1.
  int leader();
  // Waits until some running node leads the ingest; its index (fails the test after
  // `timeout`).
  int wait_for_leader(std::chrono::milliseconds timeout);
  std::string haproxy_transcript() const { return haproxy_->transcript(); }

 private:
  std::string dsn_;
  std::string sections_;
  lb_cluster_options options_;
  struct ports {
    std::uint16_t pub;
    std::uint16_t admin;
  };
  std::vector<ports> ports_;
  std::vector<std::unique_ptr<server_process>> nodes_;
  std::uint16_t lb_port_ = 0;
  std::unique_ptr<child_process> haproxy_;
};

}  // namespace fieldsync::test
