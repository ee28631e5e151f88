// Pipelines: many statements in one round trip, the failing one named, the connection
// usable afterwards; and the mutation path's row locking SQL with composite keys.

#include "storage/mutation_schema.hpp"
#include "storage/mutation_sql.hpp"
#include "storage/pg_connection.hpp"

#include "tests/support/pg_test_db.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <chrono>

using namespace fieldsync::storage;
using fieldsync::test::fresh_database;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Never co_await inside a Catch2 assertion (GCC 12 evaluates it more than once there).

template <typename F>
auto run(F f) {
  asio::io_context ioc;
  auto fut = asio::co_spawn(ioc, f(ioc.get_executor()), asio::use_future);
  ioc.run();
  return fut.get();
}

asio::awaitable<std::unique_ptr<pg_connection>> connect(asio::any_io_executor ex, const std::string& conninfo) {
  auto c = co_await pg_connection::async_connect(ex, conninfo, 10s);
  if (!c) throw std::runtime_error(c.error().to_string());
  co_return std::move(*c);
}

}  // namespace

TEST_CASE("a pipeline returns every statement's result in order", "[pg][pipeline]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    std::vector<pg_statement> st;
    st.push_back({"BEGIN", {}});
    st.push_back({"CREATE TABLE t (id int PRIMARY KEY, v text)", {}});
    for (int i = 0; i < 50; ++i) st.push_back({"INSERT INTO t VALUES ($1, $2)", pg_params(i, "v" + std::to_string(i))});
    st.push_back({"SELECT count(*), max(v) FROM t", {}});
    st.push_back({"COMMIT", {}});
    auto r = co_await c->async_pipeline(st);
    REQUIRE(r.has_value());
    REQUIRE(r->size() == st.size());
    CHECK((*r)[52].value(0, 0) == "50");
    CHECK((*r)[2].affected_rows() == 1);
    auto after = co_await c->async_query("SELECT count(*) FROM t");
    REQUIRE(after.has_value());
    CHECK(after->value(0, 0) == "50");
  });
}

TEST_CASE("a failed statement is named, the rest skipped, the connection usable", "[pg][pipeline]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    (void)co_await c->async_exec("CREATE TABLE t (id int PRIMARY KEY)");
    std::vector<pg_statement> st;
    st.push_back({"BEGIN", {}});
    st.push_back({"INSERT INTO t VALUES (1)", {}});
    st.push_back({"INSERT INTO t VALUES (1)", {}});  // unique violation
    st.push_back({"INSERT INTO t VALUES (2)", {}});
    st.push_back({"COMMIT", {}});
    auto r = co_await c->async_pipeline(st);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().index == 2);
    CHECK(r.error().error.sqlstate == "23505");
    (void)co_await c->async_exec("ROLLBACK");
    auto count = co_await c->async_query("SELECT count(*) FROM t");
    REQUIRE(count.has_value());
    CHECK(count->value(0, 0) == "0");
    CHECK(c->is_ok());
  });
}

TEST_CASE("rows of composite keys are locked and read with their types inferred", "[pg][pipeline]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    (void)co_await c->async_exec(
        "CREATE TYPE mood AS ENUM ('ok', 'great');"
        "CREATE TABLE k (rep bigint, month date, m mood, n int, PRIMARY KEY (rep, month));"
        "INSERT INTO k VALUES (1, '2026-11-01', 'ok', 5), (1, '2026-12-01', 'great', 6), (2, '2026-11-01', 'ok', 7)");
    fieldsync::protocol::collection_schema s;
    s.name = "k";
    s.schema_name = "public";
    s.table_name = "k";
    s.primary_key = {"rep", "month"};
    s.columns = {{"rep", fieldsync::protocol::describe_type(20), true, false},
                 {"month", fieldsync::protocol::describe_type(1082), true, false},
                 {"m", fieldsync::protocol::describe_type(99999), false, false},
                 {"n", fieldsync::protocol::describe_type(23), false, false}};
    std::vector<pg_statement> st;
    st.push_back(begin_statement());
    st.push_back(lock_rows_statement(s, {{"2", "2026-11-01"}, {"1", "2026-12-01"}, {"9", "2026-11-01"}}, false));
    st.push_back(update_row_statement(s, {"1", "2026-12-01"}, {{"m", std::string("ok")}, {"n", std::nullopt}}));
    st.push_back(commit_statement());
    auto r = co_await c->async_pipeline(st);
    REQUIRE(r.has_value());
    auto rows = read_locked_rows((*r)[1], s, false);
    REQUIRE(rows.has_value());
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].key == R"([1,"2026-12-01"])");  // in key order
    CHECK((*rows)[0].row.at("m") == "great");
    CHECK((*rows)[1].key == R"([2,"2026-11-01"])");
    CHECK((*rows)[0].xmin != 0);
    auto after = co_await c->async_query("SELECT m::text, n IS NULL FROM k WHERE rep = 1 AND month = '2026-12-01'");
    REQUIRE(after.has_value());
    CHECK(after->value(0, 0) == "ok");
    CHECK(after->value(0, 1) == "t");
  });
}

TEST_CASE("the mutation schema migrates once and again without change", "[pg][pipeline]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    auto first = co_await async_migrate_mutation_schema(*c);
    REQUIRE(first.has_value());
    auto again = co_await async_migrate_mutation_schema(*c);
    REQUIRE(again.has_value());
    CHECK(*first == *again);
    auto tables = co_await c->async_query(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'fieldsync' AND tablename IN "
        "('mutation_clients', 'mutation_results', 'row_clocks', 'conflicts')");
    REQUIRE(tables.has_value());
    CHECK(tables->value(0, 0) == "4");
  });
}

TEST_CASE("rewriting a row's clocks and a client's row are HOT updates", "[pg][pipeline]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    auto migrated = co_await async_migrate_mutation_schema(*c);
    REQUIRE(migrated.has_value());
    auto clock = [](bool deleted) {
      return boost::json::array{
          boost::json::object{{"collection", "items"},
                              {"key", "7"},
                              {"own", false},
                              {"xid", 1},
                              {"client_id", "c1"},
                              {"row_clock", "0000000001234-0000-c1"},
                              {"field_clocks", boost::json::object{{"title", "x"}}},
                              {"deleted", deleted}}};
    };
    std::vector<pg_statement> st;
    st.push_back(begin_statement());
    st.push_back(create_client_statement("c1", "u1", 100, std::chrono::hours(24 * 30)));
    st.push_back(upsert_clocks_statement(clock(false)));  // the insert
    st.push_back(upsert_clocks_statement(clock(false)));  // rewrites
    st.push_back(upsert_clocks_statement(clock(false)));
    st.push_back(advance_client_statement("c1", 5));
    st.push_back(advance_client_statement("c1", 9));
    st.push_back(
        {"SELECT pg_stat_get_xact_tuples_updated('fieldsync.row_clocks'::regclass), "
         "pg_stat_get_xact_tuples_hot_updated('fieldsync.row_clocks'::regclass), "
         "pg_stat_get_xact_tuples_updated('fieldsync.mutation_clients'::regclass), "
         "pg_stat_get_xact_tuples_hot_updated('fieldsync.mutation_clients'::regclass)",
         {}});
    st.push_back(commit_statement());
    auto r = co_await c->async_pipeline(st);
    REQUIRE(r.has_value());
    const auto& counts = (*r)[7];
    CHECK(counts.value(0, 0) == "2");
    CHECK(counts.value(0, 1) == "2");
    CHECK(counts.value(0, 2) == "2");
    CHECK(counts.value(0, 3) == "2");
    auto last = co_await c->async_query(
        "SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = 'c1'");
    REQUIRE(last.has_value());
    CHECK(last->value(0, 0) == "9");
  });
}
