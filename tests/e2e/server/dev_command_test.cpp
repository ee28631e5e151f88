// `fieldsync dev`, the embedded default, as the README runs it: private cluster, demo data,
// server; SIGTERM stops the server and then the cluster, exit code 0; a second start reuses
// the data.

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <regex>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

struct dev_run {
  std::unique_ptr<child_process> process;
  std::uint16_t public_port = 0;
  std::uint16_t admin_port = 0;
};

dev_run start_dev(const std::filesystem::path& data_dir) {
  dev_run run;
  run.process = std::make_unique<child_process>(
      std::vector<std::string>{fieldsync_binary().string(), "dev", "--data-dir", data_dir.string()},
      std::map<std::string, std::string>{{"FIELDSYNC_SERVER_LISTEN", "127.0.0.1:0"},
                                         {"FIELDSYNC_SERVER_ADMIN_LISTEN", "127.0.0.1:0"},
                                         {"FIELDSYNC_DEV_DEMO_SCALE", "0.01"},
                                         {"FIELDSYNC_DEV_ETL_INTERVAL_MS", "100"}});
  auto pub = run.process->wait_for_line(std::regex(R"(listening: public 127\.0\.0\.1:(\d+))"), 180s);
  auto adm = run.process->wait_for_line(std::regex(R"(listening: admin 127\.0\.0\.1:(\d+))"), 30s);
  auto ready = run.process->wait_for_line(std::regex("dev is running"), 30s);
  if (!pub || !adm || !ready) FAIL("fieldsync dev did not start:\n" << run.process->transcript());
  run.public_port = static_cast<std::uint16_t>(std::stoi((*pub)[1]));
  run.admin_port = static_cast<std::uint16_t>(std::stoi((*adm)[1]));
  return run;
}

}  // namespace

TEST_CASE("fieldsync dev serves the demo and stops its cluster on SIGTERM", "[e2e][dev]") {
  temp_dir dir("fieldsync-dev");
  // The cluster runs as the postgres user when the tests run as root: it must reach the dir.
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all |
                                               std::filesystem::perms::group_exec |
                                               std::filesystem::perms::others_exec);
  auto data_dir = dir.path() / "data";

  {
    auto run = start_dev(data_dir);
    CHECK_THAT(run.process->transcript(), Catch::Contains("demo data loaded"));
    auto health = http_call(run.public_port, http::verb::get, "/healthz");
    CHECK(health.status == 200);
    CHECK(http_call(run.admin_port, http::verb::get, "/readyz").status == 200);
    // The admin token is generated and kept in the data directory.
    CHECK(std::filesystem::exists(data_dir / "admin_token"));
    run.process->signal(SIGTERM);
    auto code = run.process->wait_exit(60s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_THAT(run.process->transcript(), Catch::Contains("PostgreSQL stopped"));
    CHECK_FALSE(std::filesystem::exists(data_dir / "pg" / "postmaster.pid"));
  }

  {
    auto run = start_dev(data_dir);
    CHECK_THAT(run.process->transcript(), Catch::Contains("demo data reused"));
    CHECK(http_call(run.public_port, http::verb::get, "/healthz").status == 200);
    run.process->signal(SIGINT);
    auto code = run.process->wait_exit(60s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_FALSE(std::filesystem::exists(data_dir / "pg" / "postmaster.pid"));
  }
}
