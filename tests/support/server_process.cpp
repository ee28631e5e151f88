#include "tests/support/server_process.hpp"

#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <regex>

namespace fieldsync::test {

using namespace std::chrono_literals;

std::string base_config(const std::string& dsn) {
  return "[server]\n"
         "listen = \"127.0.0.1:0\"\n"
         "admin_listen = \"127.0.0.1:0\"\n"
         "admin_token = \"" + std::string(test_admin_token) + "\"\n"
         "shutdown_timeout_ms = 5000\n"
         "[database]\n"
         "dsn = \"" + dsn + "\"\n"
         "pool_size = 4\n";
}

server_process::server_process(const std::string& dsn, const std::string& extra_sections,
                               std::map<std::string, std::string> env) {
  auto config = dir_.path() / "fieldsync.toml";
  write_file(config, base_config(dsn) + extra_sections);
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{fieldsync_binary().string(), "serve", "--config", config.string()},
      std::move(env));
  static const std::regex public_re(R"(listening: public 127\.0\.0\.1:(\d+))");
  static const std::regex admin_re(R"(listening: admin 127\.0\.0\.1:(\d+))");
  static const std::regex ready_re(R"(\bready\b)");
  auto p = process_->wait_for_line(public_re, 60s);
  auto a = process_->wait_for_line(admin_re, 60s);
  auto r = process_->wait_for_line(ready_re, 60s);
  if (!p || !a || !r) FAIL("fieldsync did not become ready:\n" << process_->transcript());
  public_port_ = static_cast<std::uint16_t>(std::stoi((*p)[1]));
  admin_port_ = static_cast<std::uint16_t>(std::stoi((*a)[1]));
}

int server_process::terminate() {
  process_->signal(SIGTERM);
  auto code = process_->wait_exit(30s);
  if (!code) FAIL("fieldsync did not exit after SIGTERM:\n" << process_->transcript());
  return *code;
}

}  // namespace fieldsync::test
