#include "tests/support/ingest_harness.hpp"

#include "storage/pg_connection.hpp"
#include "storage/source_catalog.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <stdexcept>

namespace fieldsync::test {

namespace asio = boost::asio;

std::vector<harness_collection> feed_collections() {
  return {{"items", "t_items", {"id"}}, {"pairs", "t_pairs", {"a", "b"}}};
}

ingest_harness::ingest_harness(const std::string& conninfo, const std::string& slot,
                               std::vector<harness_collection> collections,
                               std::function<void(storage::ingest_options&)> tune) {
  std::vector<storage::collection_spec> specs;
  for (auto& c : collections) specs.push_back({c.name, c.table, c.primary_key, {}});
  auto described = asio::co_spawn(
      ioc_,
      [&]() -> asio::awaitable<storage::pg_outcome<std::vector<protocol::collection_schema>>> {
        auto conn = co_await storage::pg_connection::async_connect(ioc_.get_executor(), conninfo,
                                                                   std::chrono::seconds(10));
        if (!conn) co_return conn.error();
        co_return co_await storage::async_describe_collections(**conn, specs);
      },
      asio::use_future);
  ioc_.run();
  ioc_.restart();
  auto schemas = described.get();
  if (!schemas) throw std::runtime_error("describe collections: " + schemas.error().to_string());

  storage::ingest_options o;
  o.source_conninfo = conninfo;
  o.storage_conninfo = conninfo;
  o.slot = slot;
  o.publication = slot;
  o.collections = std::move(*schemas);
  // Test pace: quick retries and heartbeats.
  o.reconnect_min = std::chrono::milliseconds(50);
  o.reconnect_max = std::chrono::milliseconds(1000);
  o.leader_retry = std::chrono::milliseconds(100);
  o.heartbeat_interval = std::chrono::milliseconds(500);
  o.status_interval = std::chrono::milliseconds(1000);
  if (tune) tune(o);
  ingest_ = storage::ingest::create(ioc_.get_executor(), std::move(o));
  ingest_->start();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(ioc_);
    ioc_.run();
  });
}

ingest_harness::~ingest_harness() {
  try {
    stop();
  } catch (...) {
  }
}

void ingest_harness::wait_until_streaming() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (status().phase != "streaming") {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the ingest did not start streaming within 60 s: " + status().last_error);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

storage::ingest_status ingest_harness::status() {
  return asio::co_spawn(
             ioc_, [this]() -> asio::awaitable<storage::ingest_status> { co_return ingest_->status(); },
             asio::use_future)
      .get();
}

void ingest_harness::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::co_spawn(ioc_, ingest_->async_stop(), asio::use_future).get();
  ioc_.stop();
  thread_.join();
}

}  // namespace fieldsync::test
