#include "tests/support/sql_retry.hpp"

#include "tests/support/feed_workload.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <thread>

namespace fieldsync::test {

namespace {

using namespace std::chrono_literals;

void retrying(const std::string& sql, const std::function<void()>& run) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    try {
      run();
      return;
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() > deadline)
        FAIL("cannot run " << sql << ": " << e.what());
      std::this_thread::sleep_for(100ms);
    }
  }
}

}  // namespace

void exec_retrying(const std::string& conninfo, const std::string& sql) {
  retrying(sql, [&] { exec_sql(conninfo, sql); });
}

std::string query_value_retrying(const std::string& conninfo, const std::string& sql) {
  std::string value;
  retrying(sql, [&] { value = query_value(conninfo, sql); });
  return value;
}

}  // namespace fieldsync::test
