#pragma once
// The ingest of storage/ in a test process: its own io_context on its own thread, the
// collections described from the source catalog, a slot of the test's own.

#include "storage/ingest.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fieldsync::test {

struct harness_collection {
  std::string name, table;
  std::vector<std::string> primary_key;
};

class ingest_harness {
 public:
  // `tune` may adjust the options (limits, intervals) before the ingest starts.
  ingest_harness(const std::string& conninfo, const std::string& slot,
                 std::vector<harness_collection> collections,
                 std::function<void(storage::ingest_options&)> tune = {});
  ~ingest_harness();

  // Waits (bounded) until the ingest streams: set-up and initial loads are done, so what
  // writers commit from now on reaches the log's changes (not only its copy).
  void wait_until_streaming();

  // A copy of the status, taken on the ingest's thread.
  storage::ingest_status status();
  // Graceful stop (CopyDone, lock released); waits for it.
  void stop();

 private:
  boost::asio::io_context ioc_;
  std::shared_ptr<storage::ingest> ingest_;
  std::thread thread_;
  bool stopped_ = false;
};

// The feed workload's collections (tests/support/feed_workload.hpp).
std::vector<harness_collection> feed_collections();

}  // namespace fieldsync::test
