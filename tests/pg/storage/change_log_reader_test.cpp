// Reading the change log back in log order, whatever the LSNs' text looks like.

#include "storage/change_log_reader.hpp"
#include "storage/log_schema.hpp"

#include "tests/support/pg_test_db.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync;
using namespace fieldsync::storage;
using fieldsync::test::fresh_database;
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("changes come back in LSN order, not in the order of their text",
          "[pg][change_log_reader]") {
  fresh_database db;
  asio::io_context ioc;
  auto fut = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<std::vector<std::string>> {
        auto c = co_await pg_connection::async_connect(ioc.get_executor(), db.conninfo(), 10s);
        if (!c) throw std::runtime_error(c.error().to_string());
        auto& conn = **c;
        auto migrated = co_await async_migrate_log_schema(conn);
        if (!migrated) throw std::runtime_error(migrated.error().to_string());
        // As strings "4/102A20" < "4/93820" and "0/1000000" < "0/FFFFFF"; as LSNs the reverse.
        auto ins = co_await conn.async_exec(
            "INSERT INTO fieldsync.changes (lsn, idx, collection, key, op, \"row\", commit_time, "
            "xid) VALUES "
            "('0/FFFFFF', 0, 'c', 'a', 'i', '{}', now(), 1),"
            "('0/1000000', 0, 'c', 'b', 'i', '{}', now(), 2),"
            "('0/1000000', 1, 'c', 'c', 'i', '{}', now(), 2),"
            "('4/93820', 0, 'c', 'd', 'i', '{}', now(), 3),"
            "('4/102A20', 0, 'c', 'e', 'i', '{}', now(), 4)");
        if (!ins) throw std::runtime_error(ins.error().to_string());
        std::vector<std::string> keys;
        protocol::cursor after{0, protocol::lsn(0), protocol::cursor::whole_transaction};
        const std::string collection = "c";
        // Two at a time, so that the limit picks the right two as well.
        for (;;) {
          auto page = co_await async_read_changes(conn, after, *protocol::lsn::parse("5/0"), 2,
                                                  &collection);
          if (!page) throw std::runtime_error(page.error().to_string());
          if (page->empty()) break;
          for (const auto& ch : *page) keys.push_back(ch.change.key);
          after = protocol::cursor{0, page->back().position, page->back().idx};
        }
        co_return keys;
      },
      asio::use_future);
  ioc.run();
  CHECK(fut.get() == std::vector<std::string>{"a", "b", "c", "d", "e"});
}
