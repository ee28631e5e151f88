#pragma once
// The demo data of `fieldsync dev`: loading the field-sales schema and its generated rows
// (storage/demo_generator.hpp) into a database, and the demo's KPI ETL job that keeps
// some data moving while the dev server runs.
//
// Concurrency contract: each function runs on the connection's executor and uses the
// connection alone until it completes (pg_connection runs one operation at a time); never
// start two of them on one connection at once. A load can run next to other connections'
// work: a transaction-scoped advisory lock serialises concurrent loaders, and the marker
// table is created in the same transaction as the data, so it exists only when every row
// is there.

#include "storage/dev/demo_generator.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace fieldsync::storage {

struct demo_options {
  std::uint64_t seed = 20261124;
  double scale = 1.0;  // (0, demo_max_scale]; 0.01 is 1 territory, 1000 accounts, 5000 visits
  // "Today" of the data (days since 1970-01-01); empty: the database's current_date, so
  // the visits are of the last 12 months and the KPIs end with this month.
  std::optional<std::int64_t> anchor_day;
};

struct demo_load_report {
  bool reused = false;  // the demo was there already; nothing was written
  std::uint64_t seed = 0;
  double scale = 0;
  std::array<std::int64_t, all_demo_tables.size()> rows{};  // in all_demo_tables order

  std::int64_t rows_of(demo_table t) const noexcept { return rows[static_cast<std::size_t>(t)]; }
  // "60 territories, 600 reps, ... (seed 20261124, scale 1)"
  std::string summary() const;
};

// True when the demo is loaded (the marker table fieldsync_demo_meta exists); false also
// when the question cannot be answered (async_load_demo then reports why).
boost::asio::awaitable<bool> async_demo_loaded(pg_connection& conn);

// Loads the demo unless it is there: in one transaction the schema (config/demo_schema.sql,
// compiled in), a COPY per table, then foreign keys, secondary indexes, ANALYZE and the
// marker row. When the marker table exists, returns reused = true with the current row
// counts and changes nothing. A failure rolls everything back. Invalid options fail with
// boost::system::errc::invalid_argument.
boost::asio::awaitable<pg_outcome<demo_load_report>> async_load_demo(pg_connection& conn,
                                                                     demo_options opts = {});

// One run of the demo's KPI ETL job: in a single statement, adds calls, samples and
// revenue to the current month's KPI row of a few reps chosen by (seed, tick), creating the
// row when the month has just begun (with last month's plan), and sets updated_at = now(). Returns the number of
// rows written (a handful; 0 when there are no reps).
boost::asio::awaitable<pg_outcome<std::int64_t>> async_run_kpi_etl_tick(pg_connection& conn,
                                                                        std::uint64_t seed,
                                                                        std::uint64_t tick);

}  // namespace fieldsync::storage
