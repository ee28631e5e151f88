#include "tests/support/private_cluster.hpp"

#include <sys/stat.h>

namespace fieldsync::test {

private_cluster::private_cluster(std::vector<std::string> extra_settings)
    : dir_("fieldsync-cluster") {
  // mkdtemp makes the directory 0700; as root the cluster runs as postgres, which must
  // get through it.
  ::chmod(dir_.path().c_str(), 0755);
  storage::dev_cluster_options o;
  o.data_dir = dir_.path();
  o.extra_settings = {"fsync = off", "synchronous_commit = off", "full_page_writes = off",
                      "wal_sender_timeout = 10s"};
  o.extra_settings.insert(o.extra_settings.end(), extra_settings.begin(), extra_settings.end());
  cluster_ = std::make_unique<storage::dev_cluster>(o);
  cluster_->start();
}

private_cluster::~private_cluster() {
  try {
    cluster_->stop("immediate");
  } catch (...) {
    // The directory goes anyway; a postmaster without its files exits on its own.
  }
}

}  // namespace fieldsync::test
