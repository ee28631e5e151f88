// Loading the demo data into a real database, reusing it, and the KPI ETL tick.

#include "storage/dev/demo_data.hpp"
#include "storage/pg_connection.hpp"
#include "tests/support/pg_test_db.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>

namespace asio = boost::asio;
using namespace fieldsync::storage;

namespace {

// Runs a test body as a coroutine on a fresh io_context; assertion failures propagate.
void run_async(std::function<asio::awaitable<void>(asio::any_io_executor)> body) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<std::unique_ptr<pg_connection>> connect(asio::any_io_executor ex, const std::string& conninfo) {
  auto conn = co_await pg_connection::async_connect(ex, conninfo, std::chrono::seconds(10));
  INFO((conn ? std::string() : conn.error().to_string()));
  REQUIRE(conn.has_value());
  co_return std::move(*conn);
}

// The first column of the first row of a query, as text ("" for NULL).
asio::awaitable<std::string> scalar(pg_connection& conn, std::string_view sql) {
  auto r = co_await conn.async_query(sql);
  INFO(sql << ": " << (r ? std::string() : r.error().to_string()));
  REQUIRE(r.has_value());
  REQUIRE(r->rows() == 1);
  co_return std::string(r->get(0, 0).value_or(""));
}

std::string count_sql(demo_table t) { return "SELECT count(*) FROM public." + std::string(demo_table_name(t)); }

}  // namespace

// co_await stays out of the assertion macros (GCC 12 mis-handles some co_await
// sub-expressions), so every value is fetched first and checked after.

TEST_CASE("the demo loads at scale 0.01, consistently, and a second load reuses it", "[pg][demo_data]") {
  fieldsync::test::fresh_database db;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, db.conninfo());
    const bool loaded_before = co_await async_demo_loaded(*conn);
    CHECK_FALSE(loaded_before);

    demo_options opts;
    opts.scale = 0.01;
    auto report = co_await async_load_demo(*conn, opts);
    INFO((report ? std::string() : report.error().to_string()));
    REQUIRE(report.has_value());
    CHECK_FALSE(report->reused);
    const auto expected = demo_counts_for(0.01);
    for (auto t : all_demo_tables) {
      INFO(demo_table_name(t));
      CHECK(report->rows_of(t) == expected.rows(t));
      const std::string rows = co_await scalar(*conn, count_sql(t));
      CHECK(rows == std::to_string(expected.rows(t)));
    }
    const bool loaded_after = co_await async_demo_loaded(*conn);
    CHECK(loaded_after);

    const std::map<std::string, std::string> checks{
        {"SELECT seed || '/' || scale FROM public.fieldsync_demo_meta", "20261124/0.01"},
        // Every foreign key is there and validated, and the copied territory ids agree.
        {"SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated "
         "AND connamespace = 'public'::regnamespace",
         "9"},
        {"SELECT count(*) FROM public.visits v JOIN public.accounts a ON a.id = v.account_id "
         "WHERE a.territory_id <> v.territory_id",
         "0"},
        {"SELECT count(*) FROM public.opportunities o JOIN public.accounts a ON a.id = o.account_id "
         "WHERE a.territory_id <> o.territory_id",
         "0"},
        {"SELECT count(*) FROM public.visits v JOIN public.reps r ON r.id = v.rep_id "
         "WHERE r.territory_id <> v.territory_id",
         "0"},
        // The data is of the last 12 months, and this month's KPIs exist for the ETL to move.
        {"SELECT count(*) FROM public.visits WHERE visited_at > now() OR visited_at < now() - interval '369 days'",
         "0"},
        {"SELECT count(DISTINCT month) FROM public.kpis", "12"},
        {"SELECT count(*) FROM public.kpis WHERE month = date_trunc('month', now())::date", "6"},
        // Values that COPY has to escape came through intact.
        {"SELECT count(*) > 0 FROM public.visits WHERE notes LIKE '%' || chr(10) || '%'", "t"},
        {"SELECT count(*) > 0 FROM public.visits WHERE notes LIKE '%' || chr(9) || '%'", "t"},
        {"SELECT count(*) > 0 FROM public.visits WHERE notes LIKE '%\\\\%'", "t"},
        {"SELECT count(*) > 0 FROM public.accounts WHERE 'no samples, please' = ANY(tags)", "t"},
        {"SELECT count(*) FROM public.visits WHERE jsonb_typeof(samples_left) <> 'object'", "0"},
        // New rows get ids after the generated ones.
        {"INSERT INTO public.territories (name, region, country) VALUES ('Test', 'DACH', 'DE') RETURNING id", "2"},
    };
    for (const auto& [sql, want] : checks) {
      const std::string got = co_await scalar(*conn, sql);
      INFO(sql);
      CHECK(got == want);
    }

    auto again = co_await async_load_demo(*conn, opts);
    REQUIRE(again.has_value());
    CHECK(again->reused);
    CHECK(again->seed == 20261124);
    CHECK(again->scale == 0.01);
    CHECK(again->rows_of(demo_table::visits) == expected.visits);
    CHECK(again->rows_of(demo_table::territories) == expected.territories + 1);
  });
}

TEST_CASE("a failed demo load leaves nothing behind", "[pg][demo_data]") {
  fieldsync::test::fresh_database db;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, db.conninfo());
    // A table in the way makes the schema step fail half-way through the transaction.
    auto blocker = co_await conn->async_exec("CREATE TABLE public.visits (x int)");
    REQUIRE(blocker.has_value());
    demo_options opts;
    opts.scale = 0.01;
    auto report = co_await async_load_demo(*conn, opts);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().sqlstate == "42P07");
    const bool loaded = co_await async_demo_loaded(*conn);
    CHECK_FALSE(loaded);
    const std::string no_territories = co_await scalar(*conn, "SELECT to_regclass('public.territories') IS NULL");
    CHECK(no_territories == "t");

    opts.scale = 0;
    auto invalid = co_await async_load_demo(*conn, opts);
    REQUIRE_FALSE(invalid.has_value());
    CHECK(invalid.error().code == boost::system::errc::invalid_argument);
  });
}

TEST_CASE("a KPI ETL tick moves this month's KPIs", "[pg][demo_data]") {
  fieldsync::test::fresh_database db;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, db.conninfo());
    demo_options opts;
    opts.scale = 0.05;  // 30 reps
    auto loaded = co_await async_load_demo(*conn, opts);
    REQUIRE(loaded.has_value());

    const std::string totals =
        "SELECT sum(calls_done) || '/' || count(*) FROM public.kpis WHERE month = date_trunc('month', now())::date";
    const std::string this_month = "SELECT count(*) FROM public.kpis WHERE month = date_trunc('month', now())::date";
    const std::string before = co_await scalar(*conn, totals);
    // The loaded month-to-date rows may carry a time of today (in the last minute early on
    // a day): age them, so that only the tick's rows are recent.
    (void)co_await scalar(*conn,
                          "WITH u AS (UPDATE public.kpis SET updated_at = now() - interval '1 day' "
                          "RETURNING 1) SELECT count(*) FROM u");
    auto changed = co_await async_run_kpi_etl_tick(*conn, opts.seed, 1);
    INFO((changed ? std::string() : changed.error().to_string()));
    REQUIRE(changed.has_value());
    CHECK(*changed >= 1);
    CHECK(*changed <= 8);
    const std::string after = co_await scalar(*conn, totals);
    CHECK(after != before);
    const std::string touched =
        co_await scalar(*conn, "SELECT count(*) FROM public.kpis WHERE updated_at > now() - interval '1 minute'");
    CHECK(touched == std::to_string(*changed));

    // The same (seed, tick) picks the same reps.
    auto same = co_await async_run_kpi_etl_tick(*conn, opts.seed, 1);
    REQUIRE(same.has_value());
    CHECK(*same == *changed);

    // Early in a month the rows do not exist yet; the tick creates them.
    auto cleared = co_await conn->async_exec("DELETE FROM public.kpis WHERE month = date_trunc('month', now())::date");
    REQUIRE(cleared.has_value());
    auto fresh = co_await async_run_kpi_etl_tick(*conn, opts.seed, 2);
    REQUIRE(fresh.has_value());
    CHECK(*fresh >= 1);
    const std::string created = co_await scalar(*conn, this_month);
    CHECK(created == std::to_string(*fresh));
  });
}

TEST_CASE("the full-scale demo loads", "[pg][demo_data][full]") {
  fieldsync::test::fresh_database db;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, db.conninfo());
    const auto started = std::chrono::steady_clock::now();
    auto report = co_await async_load_demo(*conn, demo_options{});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    INFO((report ? std::string() : report.error().to_string()));
    REQUIRE(report.has_value());
    // Reported, not asserted: timings belong in bench/.
    std::cout << "full-scale demo load: " << report->summary() << " in " << seconds << " s" << std::endl;
    INFO("loaded in " << seconds << " s");

    std::map<demo_table, long long> rows;
    for (auto t : all_demo_tables) {
      const std::string n = co_await scalar(*conn, count_sql(t));
      rows[t] = std::stoll(n);
    }
    CHECK(rows[demo_table::territories] >= 50);
    CHECK(rows[demo_table::reps] >= 500);
    CHECK(rows[demo_table::accounts] == 100'000);
    CHECK(rows[demo_table::visits] == 500'000);
    CHECK(rows[demo_table::opportunities] == 20'000);
    CHECK(rows[demo_table::kpis] == rows[demo_table::reps] * 12);
    const std::string full_years = co_await scalar(
        *conn, "SELECT count(*) FROM (SELECT rep_id FROM public.kpis GROUP BY rep_id HAVING count(DISTINCT month) = 12) r");
    CHECK(full_years == std::to_string(rows[demo_table::reps]));
    const std::string managers = co_await scalar(
        *conn, "SELECT count(*) FROM (SELECT region FROM public.reps WHERE role = 'manager' GROUP BY region "
               "HAVING count(*) = 1) m");
    CHECK(managers == "6");
  });
}
