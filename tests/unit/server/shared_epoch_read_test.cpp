// shared_epoch_read: every caller gets a read that started after it asked, and the callers
// that ask during one read share the next.
#include "server/pull/shared_epoch_read.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace fieldsync::server;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Reads that hold until the test ends them, each answering "e<its number>" (or failing).
struct harness {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::vector<std::unique_ptr<asio::steady_timer>> open_reads;
  bool fail_next = false;
  int reads = 0;
  shared_epoch_read epoch;
  // What each caller got, by the order it asked in ("-" until it has an answer).
  std::vector<std::string> answers;

  explicit harness(std::chrono::steady_clock::duration max_wait = 30s)
      : epoch(
            ioc.get_executor(), [this] { return read(); }, max_wait) {}

  asio::awaitable<std::optional<std::string>> read() {
    int number = ++reads;
    bool fail = fail_next;
    fail_next = false;
    open_reads.push_back(
        std::make_unique<asio::steady_timer>(ioc, asio::steady_timer::time_point::max()));
    (void)co_await open_reads.back()->async_wait(asio::as_tuple(asio::use_awaitable));
    if (fail) co_return std::nullopt;
    co_return "e" + std::to_string(number);
  }

  void ask() {
    answers.emplace_back("-");
    std::size_t slot = answers.size() - 1;
    asio::co_spawn(
        ioc,
        [this, slot]() -> asio::awaitable<void> {
          auto e = co_await epoch.async_read();
          answers[slot] = e ? *e : std::string("failed");
        },
        asio::detached);
    ioc.poll();
  }

  // Ends the oldest open read.
  void end_read() {
    REQUIRE(!open_reads.empty());
    open_reads.front()->cancel();
    ioc.poll();
    open_reads.erase(open_reads.begin());
    ioc.poll();
  }
};

}  // namespace

TEST_CASE("a caller alone reads the epoch itself") {
  harness h;
  h.ask();
  CHECK(h.reads == 1);
  CHECK(h.answers[0] == "-");
  h.end_read();
  CHECK(h.answers[0] == "e1");
  // The next caller asks after that read ended: a new read.
  h.ask();
  CHECK(h.reads == 2);
  h.end_read();
  CHECK(h.answers[1] == "e2");
}

TEST_CASE("callers that ask during a read wait for the next one, and share it") {
  harness h;
  h.ask();  // starts read 1
  h.ask();
  h.ask();
  h.ask();
  CHECK(h.reads == 1);
  h.end_read();
  // Read 1 may have started before a commit the later callers saw: they do not take it.
  CHECK(h.answers == std::vector<std::string>{"e1", "-", "-", "-"});
  CHECK(h.reads == 2);  // the next read started at once, for all three
  h.ask();              // arrives during read 2: waits for read 3
  h.end_read();
  CHECK(h.answers == std::vector<std::string>{"e1", "e2", "e2", "e2", "-"});
  CHECK(h.reads == 3);
  h.end_read();
  CHECK(h.answers[4] == "e3");
  CHECK(h.epoch.reads() == 3);
}

TEST_CASE("a failed read fails its callers, and the next caller reads again") {
  harness h;
  h.ask();
  h.end_read();
  h.fail_next = true;
  h.ask();
  h.end_read();
  CHECK(h.answers[1] == "failed");
  h.ask();
  h.end_read();
  CHECK(h.answers[2] == "e3");
}

TEST_CASE("a caller gives up when no read ends within the bound") {
  harness h(50ms);
  h.ask();  // read 1 never ends
  h.ask();
  auto until = std::chrono::steady_clock::now() + 5s;
  while (h.answers[1] == "-" && std::chrono::steady_clock::now() < until) {
    h.ioc.run_one_for(10ms);
  }
  CHECK(h.answers[1] == "failed");
  CHECK(h.answers[0] == "-");
  h.end_read();
  CHECK(h.answers[0] == "e1");
}
