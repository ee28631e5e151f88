#pragma once
// The pg and e2e tiers' database: the throwaway cluster of this test run (started by the
// ctest fixture pg_cluster_start, found through the state file named by
// FIELDSYNC_TEST_PG_STATE) and a fresh database per test.

#include <string>

namespace fieldsync::test {

// Connection string of the cluster's maintenance database (dbname=postgres).
std::string maintenance_conninfo();

// A database of its own for one test: created on construction, dropped (WITH (FORCE)) on
// destruction. Set-up code: uses blocking libpq, never on a reactor.
class fresh_database {
 public:
  fresh_database();
  ~fresh_database();
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;

  const std::string& name() const noexcept { return name_; }
  std::string conninfo() const;

 private:
  std::string name_;
};

}  // namespace fieldsync::test
