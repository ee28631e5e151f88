#pragma once
// The real fieldsync binary as a child process for e2e tests: `fieldsync serve` with a
// generated config (both listeners on 127.0.0.1 port 0), started and waited for until it
// logs "ready", with the ports it bound read from its log.

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace fieldsync::test {

inline constexpr const char* test_admin_token = "test-admin-token-0123456789abcdef";

class server_process {
 public:
  // `extra_toml` is appended to the generated config (it may add keys to [server] etc. by
  // repeating no table: use `sections` to add whole sections instead).
  explicit server_process(const std::string& dsn, const std::string& extra_sections = "",
                          std::map<std::string, std::string> env = {});

  std::uint16_t public_port() const noexcept { return public_port_; }
  std::uint16_t admin_port() const noexcept { return admin_port_; }
  child_process& process() noexcept { return *process_; }

  // SIGTERM, then the exit code (fails the test if it does not exit in time).
  int terminate();

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> process_;
  std::uint16_t public_port_ = 0;
  std::uint16_t admin_port_ = 0;
};

// The generated config's [server] and [database] sections, for tests that start the
// binary themselves.
std::string base_config(const std::string& dsn);

}  // namespace fieldsync::test
