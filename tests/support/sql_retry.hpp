#pragma once
// Plain SQL for the fault tests, retried while PostgreSQL restarts or recovers from a crash
// (every 100 ms for up to a minute; then the test fails naming the statement). Blocking
// libpq: for test threads, never a reactor.

#include <string>

namespace fieldsync::test {

void exec_retrying(const std::string& conninfo, const std::string& sql);
std::string query_value_retrying(const std::string& conninfo, const std::string& sql);

}  // namespace fieldsync::test
