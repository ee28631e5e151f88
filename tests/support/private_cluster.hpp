#pragma once
// A PostgreSQL cluster of one test's own, for the fault tests that restart, crash or
// reconfigure the server (which the shared test cluster must never suffer). initdb into
// a temp dir, loopback only; stopped (immediate) and removed on destruction.

#include "storage/dev/dev_cluster.hpp"
#include "tests/support/temp_dir.hpp"

#include <memory>
#include <string>
#include <vector>

namespace fieldsync::test {

class private_cluster {
 public:
  explicit private_cluster(std::vector<std::string> extra_settings = {});
  ~private_cluster();
  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  std::string conninfo() const { return cluster_->conninfo(); }
  storage::dev_cluster& cluster() { return *cluster_; }

 private:
  temp_dir dir_;
  std::unique_ptr<storage::dev_cluster> cluster_;
};

}  // namespace fieldsync::test
