#pragma once
// fieldsync's own schema in the storage database (schema `fieldsync`, never published):
// the change log, the current rows, the ingest state. Versioned migrations, applied in
// order at start-up, each in its own transaction and under a transaction-scoped advisory
// lock, so several nodes starting at once migrate exactly once.
//
// docs/changelog.md describes the tables.

#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string_view>

namespace fieldsync::storage {

// The version of protocol/value_json.hpp's value forms that rows are stored in
// (fieldsync.collections.format): a collection copied in another one is copied again.
inline constexpr int log_value_format = 2;

struct migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// Every migration, in version order. New ones are appended, never edited once released.
std::span<const migration> log_migrations() noexcept;

// Applies the missing migrations; returns the schema version afterwards. Fails with
// unexpected_result when the database has a newer schema than this binary knows.
boost::asio::awaitable<pg_outcome<int>> async_migrate_log_schema(pg_connection& conn);

}  // namespace fieldsync::storage
