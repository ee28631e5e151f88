// `fieldsync dev`, the embedded default, as the README runs it: private cluster, demo data,
// server; SIGTERM stops the server and then the cluster, exit code 0; a second start reuses
// the data.

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/libpq_handle.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
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

std::string read_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

// Whether a TCP connection with `conninfo` is let in; the server's message when not.
std::string tcp_refusal(const std::string& conninfo) {
  try {
    pg_connect(conninfo + " connect_timeout=10");
    return {};
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

// The cluster accepts TCP on 127.0.0.1 only with the password kept 0600 in the data
// directory; without it, or with another, it refuses (as it refuses every other local user).
void check_cluster_closed(const std::filesystem::path& data_dir) {
  namespace fs = std::filesystem;
  for (const auto* name : {"pg-password", "pg-conninfo"}) {
    INFO(name);
    REQUIRE(fs::exists(data_dir / name));
    CHECK((fs::status(data_dir / name).permissions() &
           (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  }
  const auto with_password = read_line(data_dir / "pg-conninfo");
  const auto password = read_line(data_dir / "pg-password");
  REQUIRE(password.size() >= 32);
  CHECK_THAT(with_password,
             Catch::Contains("host=127.0.0.1") && Catch::Contains("password=" + password));
  CHECK(tcp_refusal(with_password).empty());
  std::smatch port;
  REQUIRE(std::regex_search(with_password, port, std::regex(R"(port=(\d+))")));
  const std::string bare =
      "host=127.0.0.1 port=" + port[1].str() + " user=fieldsync dbname=fieldsync";
  CHECK_THAT(tcp_refusal(bare), Catch::Contains("password"));
  CHECK_THAT(tcp_refusal(bare + " password=not-the-password"),
             Catch::Contains("password authentication failed"));
  CHECK_THAT(tcp_refusal(bare + " user=postgres password=" + password), !Catch::Equals(""));
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
    check_cluster_closed(data_dir);
    run.process->signal(SIGTERM);
    auto code = run.process->wait_exit(60s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_THAT(run.process->transcript(), Catch::Contains("PostgreSQL stopped"));
    CHECK_FALSE(std::filesystem::exists(data_dir / "pg" / "postmaster.pid"));
  }

  // A data directory from before passwords: everyone trusted, no password kept. The next
  // start closes it.
  {
    std::ofstream hba(data_dir / "pg" / "pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\nlocal replication all trust\n"
           "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n";
  }
  std::filesystem::remove(data_dir / "pg-password");
  std::filesystem::remove(data_dir / "pg-conninfo");

  {
    auto run = start_dev(data_dir);
    CHECK_THAT(run.process->transcript(), Catch::Contains("demo data reused"));
    check_cluster_closed(data_dir);
    CHECK(http_call(run.public_port, http::verb::get, "/healthz").status == 200);
    run.process->signal(SIGINT);
    auto code = run.process->wait_exit(60s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_FALSE(std::filesystem::exists(data_dir / "pg" / "postmaster.pid"));
  }
}
