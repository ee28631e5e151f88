// start_slots: who gets a free start slot, and what leaves the queue.
#include "server/live/start_slots.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace fieldsync::server;
namespace asio = boost::asio;

namespace {

// Starts that take a slot and keep it until told to let go, recording who got one.
struct harness {
  asio::io_context ioc;
  // Keeps poll() working when nothing is pending (an io_context out of work stops).
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  start_slots slots;
  std::vector<std::string> granted;  // "user:n" in the order slots were handed out
  std::vector<std::string> refused;  // waits that ended without a slot
  std::vector<std::unique_ptr<start_slots::lease>> held;
  std::vector<std::unique_ptr<int>> keys;

  harness(std::size_t count, std::size_t max_queued)
      : slots(ioc.get_executor(), count, max_queued) {}

  const void* start(const std::string& user) {
    keys.push_back(std::make_unique<int>(0));
    const void* key = keys.back().get();
    std::string name = user + ":" + std::to_string(keys.size());
    asio::co_spawn(
        ioc,
        [this, user, key, name]() -> asio::awaitable<void> {
          auto lease = co_await slots.acquire(user, key);
          if (!lease) {
            refused.push_back(name);
            co_return;
          }
          granted.push_back(name);
          held.push_back(std::make_unique<start_slots::lease>(std::move(lease)));
        },
        asio::detached);
    ioc.poll();
    return key;
  }
  // Ends the oldest running start: its slot goes to the next waiting one.
  void finish_one() {
    held.erase(held.begin());
    ioc.poll();
  }
};

}  // namespace

TEST_CASE("start slots go round-robin by user, not first come") {
  harness h(1, 100);
  h.start("greedy");  // takes the only slot
  for (int i = 0; i < 4; ++i) h.start("greedy");
  h.start("alice");
  h.start("bob");
  REQUIRE(h.granted == std::vector<std::string>{"greedy:1"});
  REQUIRE(h.slots.queued() == 6);
  h.finish_one();
  h.finish_one();
  h.finish_one();
  // greedy's second start was first in line; then alice and bob before greedy's third.
  CHECK(h.granted == std::vector<std::string>{"greedy:1", "greedy:2", "alice:6", "bob:7"});
  h.finish_one();
  CHECK(h.granted.back() == "greedy:3");
}

TEST_CASE("a cancelled start leaves the queue and never gets a slot") {
  harness h(1, 100);
  h.start("a");
  const void* second = h.start("b");
  h.start("c");
  REQUIRE(h.slots.queued() == 2);
  h.slots.cancel(second);
  h.ioc.poll();
  CHECK(h.slots.queued() == 1);
  CHECK(h.refused == std::vector<std::string>{"b:2"});
  h.finish_one();
  CHECK(h.granted == std::vector<std::string>{"a:1", "c:3"});
  // Cancelling what is no longer waiting changes nothing.
  h.slots.cancel(second);
  CHECK(h.slots.queued() == 0);
}

TEST_CASE("subscribe and unsubscribe pairs leave nothing queued") {
  harness h(1, 100);
  h.start("a");
  for (int i = 0; i < 10'000; ++i) h.slots.cancel(h.start("flood"));
  h.ioc.poll();
  CHECK(h.slots.queued() == 0);
  CHECK(h.refused.size() == 10'000);
  h.start("b");
  h.finish_one();
  CHECK(h.granted == std::vector<std::string>{"a:1", "b:10002"});
}

TEST_CASE("the queue of starts is bounded") {
  harness h(1, 2);
  CHECK_FALSE(h.slots.full());
  h.start("a");
  CHECK_FALSE(h.slots.full());  // a slot was free; now the queue is empty
  h.start("a");
  h.start("b");
  CHECK(h.slots.full());
  h.finish_one();
  CHECK_FALSE(h.slots.full());
}

TEST_CASE("a second start of the same key replaces the waiting one") {
  harness h(1, 100);
  h.start("a");
  h.keys.push_back(std::make_unique<int>(0));
  const void* key = h.keys.back().get();
  for (int i = 0; i < 2; ++i) {
    asio::co_spawn(
        h.ioc,
        [&h, key, i]() -> asio::awaitable<void> {
          auto lease = co_await h.slots.acquire("x", key);
          (lease ? h.granted : h.refused).push_back("x" + std::to_string(i));
          if (lease) h.held.push_back(std::make_unique<start_slots::lease>(std::move(lease)));
        },
        asio::detached);
    h.ioc.poll();
  }
  CHECK(h.refused == std::vector<std::string>{"x0"});
  CHECK(h.slots.queued() == 1);
  h.finish_one();
  CHECK(h.granted.back() == "x1");
}

TEST_CASE("cancel_all ends every wait") {
  harness h(1, 100);
  h.start("a");
  h.start("b");
  h.start("c");
  h.slots.cancel_all();
  h.ioc.poll();
  CHECK(h.refused.size() == 2);
  CHECK(h.slots.queued() == 0);
}
