#pragma once
// Versioned migrations of a set of tables in schema `fieldsync`, for sets other than the
// change log's (storage/log_schema.hpp keeps its own runner): each migration in its own
// transaction, recorded in a version table of the set, under the same session advisory
// lock as the log's migrations, so several nodes (and both sets, when they share a
// database) migrate one at a time and exactly once.

#include "storage/log_schema.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string_view>

namespace fieldsync::storage {

// Applies the migrations of `migrations` (ascending versions) that `version_table` (a
// table name in schema fieldsync, created if missing) does not list; returns the version
// afterwards. `what` names the set in errors ("the mutation schema"). Fails with
// unexpected_result when the database is newer than the binary.
boost::asio::awaitable<pg_outcome<int>> async_apply_migrations(
    pg_connection& conn, std::span<const migration> migrations, std::string_view version_table,
    std::string_view what);

}  // namespace fieldsync::storage
