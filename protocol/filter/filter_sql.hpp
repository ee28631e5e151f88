#pragma once
// Compiling a bound filter to a PostgreSQL boolean expression for pulls and snapshots
// (docs/filters.md, "SQL"). Guarantees:
//   - No text from the filter, its parameters or its claims is ever part of the SQL. Values
//     become bind parameters ($k, in PostgreSQL's text format, cast to the column's type);
//     columns appear only as what the caller's column_sql callback returns for a column of
//     the collection's schema; everything else is fixed keywords and operators.
//   - The expression is parenthesised, so it can be ANDed into any WHERE clause.
//   - Its value equals evaluate() on the same row for every row (TRUE, FALSE and NULL for
//     UNKNOWN), whether the callback names a table column or extracts it from a jsonb row,
//     as long as the callback's expression has the column's type: for the change log,
//     ("row"->>'c')::int8 and the like. For columns that filters only test with IS NULL
//     (json, arrays, ...) the callback may return any expression that is NULL exactly when
//     the value is; for a jsonb row that is ("row"->>'c'), which maps JSON null to NULL.
//   - Text ordering is byte order (COLLATE "C"), the order the C++ evaluator uses, whatever
//     the database's collation; equality and LIKE need no collation.

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter_bound.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::protocol {

// The SQL expression for a column of the filter's collection (a quoted identifier, or an
// extraction from a jsonb row). Called once per column reference.
using column_sql = std::function<std::string(const column_schema& column)>;

// Bind parameters for the compiled SQL: values.size() grows by one per placeholder, and the
// placeholder for values[i] is $(offset + i + 1). Put the caller's own parameters in values
// first, or leave values empty and set offset to their count. nullopt is SQL NULL.
struct sql_params {
  std::size_t offset = 0;
  std::vector<std::optional<std::string>> values;
};

std::string compile_sql(const bound_filter& filter, const column_sql& column, sql_params& out);

// "name" with embedded quotes doubled: the identifier quoting a column_sql for a plain
// table wants.
std::string quote_identifier(std::string_view name);

}  // namespace fieldsync::protocol
