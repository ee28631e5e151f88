#pragma once
// The checks a mutation passes before anything is read or written (docs/protocol.md,
// "Mutations"): the collection's columns, each value against its column's type, NOT NULL,
// the value size limit and the primary key. Values come out normalised, spelled as
// PostgreSQL gives them back (protocol/value_json.hpp: a uuid in lower case, 5.0 in an
// integer column as 5), so they compare with the current row and the change log's rows,
// and the canonical key text is the one the log uses.
//
// Pure: no I/O; never throws on input.

#include "protocol/collection_schema.hpp"
#include "protocol/mutation_errc.hpp"
#include "protocol/mutation_request.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace fieldsync::protocol {

struct mutation_limits {
  std::size_t max_value_bytes = 64 * 1024;  // a value's PostgreSQL text
};

struct checked_mutation {
  boost::json::object key;  // the primary-key columns, normalised
  std::string key_text;     // canonical (protocol/row_key.hpp)
  // update: the columns it sets (primary-key columns left out); insert: the whole new row,
  // key included; delete: empty. Normalised.
  boost::json::object changes;
  // As sent, with values normalised where they fit their column (a base value that does
  // not fit simply compares unequal).
  boost::json::object base;
};

boost::system::result<checked_mutation, mutation_problem> check_mutation(
    const mutation& m, const collection_schema& schema, const mutation_limits& limits);

// The PostgreSQL text of a value for its column, as a write sends it as a parameter;
// nullopt for SQL NULL. Fails with wrong_type, not_null or too_large.
boost::system::result<std::optional<std::string>, mutation_problem> column_text(
    const column_schema& column, const boost::json::value& value, const mutation_limits& limits);

}  // namespace fieldsync::protocol
