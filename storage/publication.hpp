#pragma once
// fieldsync's publication on the source database: exactly the collections' tables, each
// with REPLICA IDENTITY FULL (deletes and updates then carry the old row, which scope
// checks need: a row that leaves a user's scope must reach that user as a delete).

#include "protocol/collection_schema.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace fieldsync::storage {

// Creates the publication if missing and makes its table list exactly `collections`'
// tables; sets REPLICA IDENTITY FULL where it is not. Needs ownership of the tables.
boost::asio::awaitable<pg_outcome<void>> async_sync_publication(
    pg_connection& conn, const std::string& publication,
    const std::vector<protocol::collection_schema>& collections);

}  // namespace fieldsync::storage
