#pragma once
// Reads the configured collections' tables from the source database's catalog: their
// columns and types, checked against the configuration (the table exists, the named
// columns exist, the primary key is the table's). The result is what filters,
// mutations, the stream decoder and /v1/collections work with.

#include "protocol/collection_schema.hpp"
#include "storage/collection_spec.hpp"
#include "storage/pg_connection.hpp"
#include "storage/sql_quote.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace fieldsync::storage {

// "schema"."table", quoted for SQL.
std::string quoted_relation(const protocol::collection_schema& c);

// Fails with unexpected_result and a message naming the collection when the catalog does
// not match the configuration.
boost::asio::awaitable<pg_outcome<std::vector<protocol::collection_schema>>>
async_describe_collections(pg_connection& conn, const std::vector<collection_spec>& specs);

}  // namespace fieldsync::storage
