#include "storage/ingest_queue.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <vector>

using namespace fieldsync::storage;
namespace asio = boost::asio;

namespace {

ingest_work batch(std::uint64_t changes, std::size_t bytes, std::uint64_t resume) {
  ingest_work w;
  w.what = ingest_work::kind::batch;
  w.changes = changes;
  w.bytes = bytes;
  w.resume = fieldsync::protocol::lsn(resume);
  return w;
}

ingest_work spill_piece(std::size_t bytes) {
  ingest_work w;
  w.what = ingest_work::kind::spill_piece;
  w.changes = 1;
  w.bytes = bytes;
  return w;
}

// Coroutines are free functions: a capturing lambda's closure would die before its frame.
asio::awaitable<void> push_all(ingest_queue& q, std::vector<ingest_work> items,
                               std::vector<bool>& results, bool close_after) {
  for (auto& w : items) results.push_back(co_await q.async_push(std::move(w)));
  if (close_after) q.close(false);
}

asio::awaitable<void> pop_all(ingest_queue& q, std::vector<std::uint64_t>& popped, bool& ended) {
  while (auto w = co_await q.async_pop()) popped.push_back(w->changes);
  ended = true;
}

asio::awaitable<void> pop_one(ingest_queue& q, std::vector<std::uint64_t>& popped) {
  if (auto w = co_await q.async_pop()) popped.push_back(w->changes);
}

// Runs every ready handler, then returns (the coroutines wait on each other).
void settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

}  // namespace

TEST_CASE("the ingest queue hands items over in order", "[ingest_queue]") {
  asio::io_context io;
  ingest_queue q(io.get_executor(), 1000);
  std::vector<bool> pushed;
  std::vector<std::uint64_t> popped;
  bool ended = false;
  std::vector<ingest_work> items;
  for (std::uint64_t i = 1; i <= 3; ++i) items.push_back(batch(i, 10, i));
  asio::co_spawn(io, push_all(q, std::move(items), pushed, true), asio::detached);
  asio::co_spawn(io, pop_all(q, popped, ended), asio::detached);
  io.run();
  CHECK(pushed == std::vector<bool>{true, true, true});
  CHECK(popped == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(ended);
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("a full ingest queue makes the pusher wait until an item is taken", "[ingest_queue]") {
  asio::io_context io;
  ingest_queue q(io.get_executor(), 100);
  std::vector<bool> pushed;
  std::vector<ingest_work> items;
  for (std::uint64_t i = 1; i <= 3; ++i) items.push_back(batch(i, 60, i));
  asio::co_spawn(io, push_all(q, std::move(items), pushed, false), asio::detached);
  settle(io);
  CHECK(pushed.size() == 1);  // 60 + 60 > 100: the second waits
  CHECK(q.bytes() == 60);
  CHECK(q.changes() == 1);  // what waits: the writer defers its commit behind a backlog

  std::vector<std::uint64_t> popped;
  asio::co_spawn(io, pop_one(q, popped), asio::detached);
  settle(io);
  CHECK(popped == std::vector<std::uint64_t>{1});
  CHECK(pushed.size() == 2);
  CHECK(q.bytes() == 60);
  CHECK(q.changes() == 2);
}

TEST_CASE("an item bigger than the ingest queue's bound goes in once it is empty",
          "[ingest_queue]") {
  asio::io_context io;
  ingest_queue q(io.get_executor(), 100);
  std::vector<bool> pushed;
  std::vector<ingest_work> items;
  items.push_back(batch(1, 10, 1));
  items.push_back(spill_piece(500));
  asio::co_spawn(io, push_all(q, std::move(items), pushed, false), asio::detached);
  settle(io);
  CHECK(pushed.size() == 1);
  std::vector<std::uint64_t> popped;
  asio::co_spawn(io, pop_one(q, popped), asio::detached);
  settle(io);
  CHECK(pushed == std::vector<bool>{true, true});
  CHECK(q.bytes() == 500);
}

TEST_CASE("the writer merges queued batches within its limits, never a spill piece",
          "[ingest_queue]") {
  asio::io_context io;
  ingest_queue q(io.get_executor(), 10'000);
  std::vector<bool> pushed;
  std::vector<ingest_work> items;
  items.push_back(batch(5, 50, 1));
  items.push_back(batch(7, 70, 2));
  items.push_back(spill_piece(10));
  asio::co_spawn(io, push_all(q, std::move(items), pushed, false), asio::detached);
  settle(io);
  REQUIRE(pushed.size() == 3);

  CHECK_FALSE(q.try_pop_batch(4, 1000));  // 5 changes do not fit in 4
  CHECK_FALSE(q.try_pop_batch(100, 49));  // nor 50 bytes in 49
  auto first = q.try_pop_batch(5, 50);
  REQUIRE(first);
  CHECK(first->changes == 5);
  auto second = q.try_pop_batch(100, 1000);
  REQUIRE(second);
  CHECK(second->resume == fieldsync::protocol::lsn(2));
  CHECK_FALSE(q.try_pop_batch(100, 1000));  // a spill piece is never merged
  CHECK(q.bytes() == 10);
}

TEST_CASE("closing the ingest queue wakes both sides", "[ingest_queue]") {
  asio::io_context io;
  ingest_queue q(io.get_executor(), 100);
  std::vector<std::uint64_t> popped;
  bool ended = false;

  SECTION("a waiting popper gets nothing when pending items are dropped") {
    asio::co_spawn(io, pop_all(q, popped, ended), asio::detached);
    settle(io);
    CHECK_FALSE(ended);
    q.close(true);
    settle(io);
    CHECK(ended);
    CHECK(popped.empty());
  }

  SECTION("pending items are still handed over after an orderly close") {
    std::vector<bool> pushed;
    std::vector<ingest_work> items;
    items.push_back(batch(1, 10, 1));
    asio::co_spawn(io, push_all(q, std::move(items), pushed, true), asio::detached);
    settle(io);
    CHECK(q.closed());
    asio::co_spawn(io, pop_all(q, popped, ended), asio::detached);
    settle(io);
    CHECK(popped == std::vector<std::uint64_t>{1});
    CHECK(ended);
  }

  SECTION("a waiting pusher is told the queue closed") {
    std::vector<bool> pushed;
    std::vector<ingest_work> items;
    items.push_back(batch(1, 80, 1));
    items.push_back(batch(2, 80, 2));  // waits for room
    asio::co_spawn(io, push_all(q, std::move(items), pushed, false), asio::detached);
    settle(io);
    CHECK(pushed == std::vector<bool>{true});
    q.close(true);
    settle(io);
    CHECK(pushed == std::vector<bool>{true, false});
    CHECK(q.empty());
  }
}
