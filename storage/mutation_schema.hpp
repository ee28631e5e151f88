#pragma once
// The bookkeeping of client mutations (docs/mutations.md), in schema `fieldsync` of the
// SOURCE database: it must commit in the same transaction as the mutations' writes to the
// source tables, so it lives there even when the change log has a storage database of its
// own. Never published (the publication lists the synced tables only).
//
//   mutation_clients  per client id: its owner (the subject that first pushed for it) and
//                     the last mutation id that has a result
//   mutation_results  the result of each of a client's last mutations, for retries
//   row_clocks        per row: the hybrid logical clocks of its last writer and its fields
//                     (docs/merge.md), valid while the row's xmin is the recorded one
//   conflicts         merged and rejected conflicts, for review (/admin/v1/conflicts)

#include "storage/log_schema.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>

namespace fieldsync::storage {

// Every migration of the set, in version order; appended to, never edited once released.
std::span<const migration> mutation_migrations() noexcept;

// Applies the missing migrations on a connection to the source database.
boost::asio::awaitable<pg_outcome<int>> async_migrate_mutation_schema(pg_connection& conn);

}  // namespace fieldsync::storage
