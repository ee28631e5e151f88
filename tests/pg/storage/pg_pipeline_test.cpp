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

namespace {

// How many statements the session holds with this text, as the server sees it.
asio::awaitable<std::string> server_prepared(pg_connection& c, const std::string& sql) {
  const pg_params params(sql);
  auto r = co_await c.async_query(
      "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", params);
  if (!r) throw std::runtime_error(r.error().to_string());
  co_return std::string(r->value(0, 0));
}

pg_statement prepared(std::string sql, pg_params params = {}) {
  return {std::move(sql), std::move(params), true};
}

// A pipeline's statements, without a braced list (GCC 12 refuses those in a coroutine).
template <typename... S>
std::vector<pg_statement> pipeline_of(S... s) {
  std::vector<pg_statement> out;
  (out.push_back(std::move(s)), ...);
  return out;
}

}  // namespace

TEST_CASE("preparable statements are prepared once per session, and again when lost or stale",
          "[pg][pipeline]") {
  fresh_database db;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto c = co_await connect(ex, db.conninfo());
    (void)co_await c->async_exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
    const std::string insert = "INSERT INTO t VALUES ($1, $2)";
    auto batch = [&](int from, int to) {  // inserts ids from..to
      std::vector<pg_statement> st{prepared("BEGIN")};
      for (int id = from; id <= to; ++id)
        st.push_back(prepared(insert, pg_params(id, "v" + std::to_string(id))));
      st.push_back(prepared("COMMIT"));
      return st;
    };

    // The insert's second and third uses run from one Prepare, in the same pipeline.
    const auto inserts_1_3 = batch(1, 3);
    auto first = co_await c->async_pipeline(inserts_1_3);
    REQUIRE(first.has_value());
    CHECK((*first)[3].affected_rows() == 1);
    CHECK(c->prepared_count() == 1);
    auto held = co_await server_prepared(*c, insert);
    CHECK(held == "1");
    const auto inserts_4 = batch(4, 4);
    auto second = co_await c->async_pipeline(inserts_4);
    REQUIRE(second.has_value());
    CHECK(c->prepared_count() == 3);  // BEGIN and COMMIT at their second use
    held = co_await server_prepared(*c, insert);
    CHECK(held == "1");

    // Lost: the server forgot them all. The pipeline fails once, says so, and the same
    // pipeline sent again prepares anew.
    (void)co_await c->async_exec("DEALLOCATE ALL");
    const auto inserts_5 = batch(5, 5);
    auto lost = co_await c->async_pipeline(inserts_5);
    REQUIRE_FALSE(lost.has_value());
    CHECK(lost.error().stale_prepared);
    CHECK(lost.error().error.sqlstate == "26000");
    CHECK(c->prepared_count() == 0);
    (void)co_await c->async_exec("ROLLBACK");
    const auto inserts_5_again = batch(5, 5);
    auto resent = co_await c->async_pipeline(inserts_5_again);
    REQUIRE(resent.has_value());
    const auto inserts_6 = batch(6, 6);
    auto again = co_await c->async_pipeline(inserts_6);
    REQUIRE(again.has_value());
    CHECK(c->prepared_count() == 3);
    auto count = co_await c->async_query("SELECT count(*), string_agg(v, ',' ORDER BY id) FROM t");
    REQUIRE(count.has_value());
    CHECK(count->value(0, 0) == "6");
    CHECK(count->value(0, 1) == "v1,v2,v3,v4,v5,v6");

    // Stale: the table changed the row type of a prepared SELECT *.
    const std::string select = "SELECT * FROM t WHERE id = $1";
    for (int i = 0; i < 2; ++i) {
      const auto select_row = pipeline_of(prepared(select, pg_params(1)));
      auto r = co_await c->async_pipeline(select_row);
      REQUIRE(r.has_value());
      CHECK((*r)[0].columns() == 2);
    }
    (void)co_await c->async_exec("ALTER TABLE t ADD COLUMN w int DEFAULT 7");
    const auto select_stale = pipeline_of(prepared(select, pg_params(1)));
    auto stale = co_await c->async_pipeline(select_stale);
    REQUIRE_FALSE(stale.has_value());
    CHECK(stale.error().stale_prepared);
    CHECK(stale.error().error.sqlstate == "0A000");
    const auto select_replanned = pipeline_of(prepared(select, pg_params(1)));
    auto replanned = co_await c->async_pipeline(select_replanned);
    REQUIRE(replanned.has_value());
    CHECK((*replanned)[0].columns() == 3);
    CHECK((*replanned)[0].value(0, 2) == "7");

    // A Prepare the server refuses leaves nothing behind; the error is the statement's.
    const std::string wrong = "SELECT nope FROM t WHERE id = $1";
    const auto before = c->prepared_count();
    for (int i = 0; i < 2; ++i) {
      const auto with_wrong =
          pipeline_of(pg_statement{"SELECT 1", {}}, prepared(wrong, pg_params(1)));
      auto r = co_await c->async_pipeline(with_wrong);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().index == 1);
      CHECK(r.error().error.sqlstate == "42703");
      CHECK_FALSE(r.error().stale_prepared);
    }
    CHECK(c->prepared_count() == before);
    held = co_await server_prepared(*c, wrong);
    CHECK(held == "0");

    // A statement prepared inside a transaction that rolls back stays prepared.
    const std::string one = "SELECT v FROM t WHERE id = $1";
    const auto rolled_back = pipeline_of(prepared("BEGIN"), prepared(one, pg_params(2)),
                                         prepared(one, pg_params(3)), pg_statement{"ROLLBACK", {}});
    auto rolled = co_await c->async_pipeline(rolled_back);
    REQUIRE(rolled.has_value());
    held = co_await server_prepared(*c, one);
    CHECK(held == "1");
    const auto select_by_name = pipeline_of(prepared(one, pg_params(4)));
    auto by_name = co_await c->async_pipeline(select_by_name);
    REQUIRE(by_name.has_value());
    CHECK((*by_name)[0].value(0, 0) == "v4");
    CHECK(c->is_ok());
  });
}
