#pragma once
// A test's background thread that runs until a flag tells it to stop: however the test
// ends (a failed REQUIRE included), the destructor sets the flag and joins the thread.

#include <atomic>
#include <thread>

namespace fieldsync::test {

struct stop_and_join {
  std::atomic<bool>& stop;
  std::thread& thread;
  ~stop_and_join() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

}  // namespace fieldsync::test
