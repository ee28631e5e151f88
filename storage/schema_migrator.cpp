#include "storage/schema_migrator.hpp"

#include "storage/sql_quote.hpp"

#include <string>

namespace fieldsync::storage {

namespace {

// The change log's migration lock (storage/log_schema.cpp): one lock for every set, so two
// sets in one database never run CREATE SCHEMA at the same moment.
constexpr std::string_view migration_lock_key = "4242010001";

boost::asio::awaitable<pg_outcome<int>> migrate_locked(pg_connection& conn,
                                                       std::span<const migration> migrations,
                                                       const std::string& table,
                                                       std::string_view what) {
  auto setup = co_await conn.async_exec(
      "CREATE SCHEMA IF NOT EXISTS fieldsync;"
      "CREATE TABLE IF NOT EXISTS " + table + " ("
      "  version integer PRIMARY KEY,"
      "  description text NOT NULL,"
      "  applied_at timestamptz NOT NULL DEFAULT now())");
  if (!setup) co_return setup.error();
  auto done = co_await conn.async_query("SELECT coalesce(max(version), 0) FROM " + table);
  if (!done) co_return done.error();
  int current = std::stoi(std::string(done->value(0, 0)));
  int newest = migrations.empty() ? 0 : migrations.back().version;
  if (current > newest) {
    co_return pg_error{make_error_code(pg_errc::unexpected_result), {},
                       std::string(what) + " has version " + std::to_string(current) +
                           ", newer than this binary's " + std::to_string(newest) +
                           ": upgrade fieldsync"};
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    auto run = co_await conn.async_exec("BEGIN");
    if (run) run = co_await conn.async_exec(m.sql);
    if (run) {
      run = co_await conn.async_query(
          "INSERT INTO " + table + " (version, description) VALUES ($1, $2)",
          pg_params(m.version, m.description));
    }
    if (run) run = co_await conn.async_exec("COMMIT");
    if (!run) {
      (void)co_await conn.async_exec("ROLLBACK");
      co_return pg_error{run.error().code, run.error().sqlstate,
                         std::string(what) + " migration " + std::to_string(m.version) + " (" +
                             std::string(m.description) + "): " + run.error().message};
    }
    current = m.version;
  }
  co_return current;
}

}  // namespace

boost::asio::awaitable<pg_outcome<int>> async_apply_migrations(
    pg_connection& conn, std::span<const migration> migrations, std::string_view version_table,
    std::string_view what) {
  const std::string table = "fieldsync." + quote_identifier(version_table);
  const std::string key(migration_lock_key);
  auto locked = co_await conn.async_exec("SELECT pg_advisory_lock(" + key + ")");
  if (!locked) co_return locked.error();
  auto result = co_await migrate_locked(conn, migrations, table, what);
  auto unlocked = co_await conn.async_exec("SELECT pg_advisory_unlock(" + key + ")");
  if (!unlocked && result) co_return unlocked.error();
  co_return result;
}

}  // namespace fieldsync::storage
