#pragma once
// A streaming standby of a private_cluster, for the failover tests: `pg_basebackup -R`
// (WAL streamed during the copy) from the primary's unix socket into a temp dir, started
// on a free loopback port with its own socket directory, promoted on demand. Stopped
// (immediate) and removed on destruction, also when the test fails.
//
// The standby copies the primary's pg_hba.conf, roles and passwords, so the primary's TCP
// password opens it too. Like the primary, it runs as the `postgres` user when the test
// runs as root.
//
// Test set-up code: every call blocks (pg_basebackup, pg_ctl, libpq).

#include "storage/dev/dev_cluster.hpp"
#include "tests/support/temp_dir.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace fieldsync::test {

class standby_cluster {
 public:
  explicit standby_cluster(const storage::dev_cluster& primary);
  ~standby_cluster();
  standby_cluster(const standby_cluster&) = delete;
  standby_cluster& operator=(const standby_cluster&) = delete;

  int port() const noexcept { return port_; }
  // Over the standby's own unix socket, like dev_cluster::conninfo().
  std::string conninfo(const std::string& dbname) const;

  // Waits until the standby has replayed everything the primary had written when called
  // (the primary must be up): what a planned switchover does before it stops the primary.
  void wait_caught_up(const std::string& primary_conninfo, std::chrono::seconds timeout);

  // Stops streaming from the primary (primary_conninfo emptied and reloaded) and waits
  // until the WAL receiver has gone: whatever the primary writes from now on never reaches
  // the standby, as with a standby that lags when its primary dies.
  void detach(std::chrono::seconds timeout);

  // `pg_ctl promote -w`: the standby leaves recovery and takes writes on a new timeline.
  void promote();
  // True while the standby is still in recovery (not promoted).
  bool in_recovery() const;

  // The end of the standby's server log, for failure messages.
  std::string log_tail(std::size_t bytes = 4000) const;

  void stop(const std::string& mode = "immediate");

 private:
  std::string pg_ctl(const std::vector<std::string>& args, bool must_succeed = true) const;

  temp_dir dir_;
  std::filesystem::path cluster_dir_;
  std::filesystem::path log_file_;
  std::filesystem::path bin_dir_;
  std::string superuser_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace fieldsync::test
