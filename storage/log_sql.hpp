#pragma once
// SQL over the change log's jsonb rows: how a column of a collection reads from the
// `"row"` column of fieldsync.changes / fieldsync.rows, typed so that compiled filters
// (protocol/filter_sql.hpp) compare with the column's own semantics.

#include "protocol/collection_schema.hpp"

#include <string>

namespace fieldsync::storage {

// ("row"->>'territory_id')::int8, and the like. Types filters only test with IS [NOT] NULL
// (json, arrays, bytea, interval, unknown types) get the bare text extraction, which is
// NULL exactly when the value is; text needs no cast.
std::string log_column_sql(const protocol::column_schema& column, std::string_view row_expr = "\"row\"");

}  // namespace fieldsync::storage
