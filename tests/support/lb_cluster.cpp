#include "tests/support/lb_cluster.hpp"

#include "tests/support/http_client.hpp"
#include "tests/support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <thread>

namespace fieldsync::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::uint16_t free_loopback_port() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool loopback_accepts(std::uint16_t port) {
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

namespace {

std::string address(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

lb_cluster::lb_cluster(std::string dsn, std::string sections, lb_cluster_options options)
    : dsn_(std::move(dsn)), sections_(std::move(sections)), options_(std::move(options)) {
  for (int i = 0; i < options_.nodes; ++i) {
    ports_.push_back({free_loopback_port(), free_loopback_port()});
    nodes_.emplace_back();
  }
  for (int i = 0; i < options_.nodes; ++i) start(i);
  lb_port_ = free_loopback_port();
  std::map<std::string, std::string> env{
      {"FIELDSYNC_LB_BIND", address(lb_port_)},
      {"FIELDSYNC_LB_CHECK_INTER", options_.check_inter},
      {"FIELDSYNC_LB_CHECK_FALL", std::to_string(options_.check_fall)},
      // HAProxy raises its descriptor limit to about twice maxconn at start; a test
      // machine's hard limit may be far below what a production host is given.
      {"FIELDSYNC_LB_MAXCONN", "4000"},
  };
  // deploy/haproxy.cfg names three servers: a smaller cluster points the rest at node 1.
  for (int s = 0; s < 3; ++s) {
    const auto& p = ports_[static_cast<std::size_t>(std::min(s, options_.nodes - 1))];
    const auto n = std::to_string(s + 1);
    env["FIELDSYNC_LB_NODE" + n] = address(p.pub);
    env["FIELDSYNC_LB_NODE" + n + "_ADMIN"] = std::to_string(p.admin);
  }
  const auto cfg = (source_dir() / "deploy" / "haproxy.cfg").string();
  // -db: in the foreground, its alerts (a server going down or up) in the transcript.
  haproxy_ = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", cfg}, std::move(env));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!loopback_accepts(lb_port_)) {
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("HAProxy did not start:\n" << haproxy_->transcript());
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(1s);  // the first health checks (rise 2)
}

lb_cluster::~lb_cluster() {
  if (haproxy_) {
    haproxy_->signal(SIGTERM);
    (void)haproxy_->wait_exit(10s);
  }
  for (auto& n : nodes_) {
    if (!n) continue;
    n->process().signal(SIGTERM);
    (void)n->process().wait_exit(30s);
  }
}

server_process& lb_cluster::node(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  REQUIRE(n);
  return *n;
}

void lb_cluster::kill(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  REQUIRE(n);
  n->process().signal(SIGKILL);
  REQUIRE(n->process().wait_exit(10s) == 128 + SIGKILL);
  n.reset();
}

int lb_cluster::stop(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  REQUIRE(n);
  const int code = n->terminate();
  n.reset();
  return code;
}

void lb_cluster::start(int i) {
  auto& n = nodes_.at(static_cast<std::size_t>(i));
  REQUIRE_FALSE(n);
  const auto& p = ports_.at(static_cast<std::size_t>(i));
  n = std::make_unique<server_process>(
      dsn_, sections_,
      std::map<std::string, std::string>{
          {"FIELDSYNC_SERVER_LISTEN", address(p.pub)},
          {"FIELDSYNC_SERVER_ADMIN_LISTEN", address(p.admin)},
          {"FIELDSYNC_SERVER_DRAIN_DELAY_MS", std::to_string(options_.drain_delay.count())}});
  if (haproxy_) std::this_thread::sleep_for(1s);  // HAProxy's checks see it (rise 2)
}

int lb_cluster::leader() {
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    try {
      auto r = http_call(ports_[static_cast<std::size_t>(i)].admin, boost::beast::http::verb::get,
                         "/admin/v1/status", {},
                         {{"Authorization", std::string("Bearer ") + test_admin_token}});
      if (r.status != 200) continue;
      const auto body = r.json();
      const auto& ingest = body.at("replication").at("ingest");
      if (ingest.is_object() && ingest.as_object().contains("leader") &&
          ingest.at("leader") == true) {
        return i;
      }
    } catch (const std::exception&) {
      // a node starting or stopping: not the leader
    }
  }
  return -1;
}

int lb_cluster::wait_for_leader(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (int l = leader(); l >= 0) return l;
    if (std::chrono::steady_clock::now() > deadline) FAIL("no node took the ingest");
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace fieldsync::test
