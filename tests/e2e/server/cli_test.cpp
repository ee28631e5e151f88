// The command line and start-up failures: each a clear one-line error and an exit code,
// never a crash or a hang.

#include "tests/support/child_process.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include <regex>

using namespace fieldsync::test;
using namespace std::chrono_literals;

namespace {

struct outcome {
  int code;
  std::string output;
};

outcome run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), fieldsync_binary().string());
  child_process p(std::move(args), std::move(env));
  auto code = p.wait_exit(60s);
  REQUIRE(code);
  // Let the reader thread see the end of the output.
  p.wait_for_line(std::regex("^$a"), 5s);
  return {*code, p.transcript()};
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("fieldsync prints its version and its help", "[e2e][cli]") {
  auto v = run({"--version"});
  CHECK(v.code == 0);
  CHECK_THAT(v.output, Catch::StartsWith("fieldsync 0."));
  auto h = run({"--help"});
  CHECK(h.code == 0);
  CHECK_THAT(h.output, Catch::Contains("serve") && Catch::Contains("dev"));
}

TEST_CASE("bad command lines exit 2 with one line", "[e2e][cli]") {
  for (auto args : std::vector<std::vector<std::string>>{
           {}, {"frobnicate"}, {"serve"}, {"serve", "--config", "/no/such/file.toml"}}) {
    auto r = run(args);
    INFO(r.output);
    CHECK(r.code == 2);
    CHECK(lines(r.output) == 1);
    CHECK_THAT(r.output, Catch::StartsWith("fieldsync: "));
  }
}

TEST_CASE("bad config exits 2 with one line naming the key and line", "[e2e][cli][config]") {
  temp_dir dir;
  auto file = dir.path() / "bad.toml";
  write_file(file, "[database]\ndsn = \"x\"\n[server]\nlisen = \"0.0.0.0:1\"\n");
  auto r = run({"serve", "--config", file.string()});
  CHECK(r.code == 2);
  CHECK(lines(r.output) == 1);
  CHECK_THAT(r.output, Catch::Contains("bad.toml:4") && Catch::Contains("server.lisen"));

  write_file(file, "[database]\ndsn = \"x\"\n");
  auto env = run({"serve", "--config", file.string()}, {{"FIELDSYNC_DATABASE_POOL_SIZE", "lots"}});
  CHECK(env.code == 2);
  CHECK(lines(env.output) == 1);
  CHECK_THAT(env.output, Catch::Contains("FIELDSYNC_DATABASE_POOL_SIZE"));
}

TEST_CASE("an occupied port is a one-line error, exit 1", "[e2e][cli]") {
  fresh_database db;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = taken.local_endpoint().port();
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file, base_config(db.conninfo()));
  auto r = run({"serve", "--config", file.string()},
               {{"FIELDSYNC_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port)}});
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("fieldsync: cannot listen on 127.0.0.1:" +
                                       std::to_string(port) + " (public)"));
}

TEST_CASE("an unreachable PostgreSQL is a one-line error, exit 1, no hang", "[e2e][cli]") {
  // A port nobody listens on: take one and close it again.
  std::uint16_t port;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file, base_config("host=127.0.0.1 port=" + std::to_string(port) +
                               " user=nobody dbname=nothing password=secret"));
  auto r = run({"serve", "--config", file.string()},
               {{"FIELDSYNC_DATABASE_CONNECT_TIMEOUT_MS", "2000"}});
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("fieldsync: cannot connect to PostgreSQL (host=127.0.0.1 port=" +
                                       std::to_string(port)));
  CHECK_THAT(r.output, !Catch::Contains("secret"));
}
