#include "server/mutations/mutation_fault.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <string_view>
#include <unistd.h>

namespace fieldsync::server {

namespace {

constexpr const char* fault_variable = "FIELDSYNC_FAULT";
constexpr std::string_view kill_after_commit = "kill-after-mutation-commit";

}  // namespace

mutation_fault_hook mutation_fault_hook_from_environment() {
  // Read once while the app starts, before anything else runs: no thread changes the
  // environment meanwhile.
  const char* fault = std::getenv(fault_variable);  // NOLINT(concurrency-mt-unsafe)
  if (!fault || std::string_view(fault) != kill_after_commit) return {};
  spdlog::warn("{}={}: this process kills itself after its first mutation commit", fault_variable,
               kill_after_commit);
  return [] {
    spdlog::warn("fault injection: killing this process after a mutation commit");
    ::kill(::getpid(), SIGKILL);
  };
}

}  // namespace fieldsync::server
