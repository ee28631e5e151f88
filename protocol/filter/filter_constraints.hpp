#pragma once
// The equality tests at the top of a bound filter, for the fan-out hub's subscription index
// (docs/filters.md, "Indexing"). A filter whose top level is an AND chain (or a single test)
// containing `col = value`, `col IN (v, ...)`, `col = ANY($claims.x)` or a bare boolean
// column can only match rows whose value of that column is one of the listed values. The
// hub indexes a subscription under one such constraint and evaluates the full filter only
// on candidate rows.
//
// Values are compared through equality keys, not raw JSON, because equal values can be
// spelled differently (1.5 and "1.50" for numeric, upper- and lower-case uuids, timestamps
// with offsets): a row can match only if equality_key(column type, row value) is one of the
// constraint's keys. NOT IN, <>, ranges, LIKE, ORs and anything under NOT give no constraint.

#include "protocol/filter/filter_bound.hpp"
#include "protocol/pg_type.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fieldsync::protocol {

struct equality_constraint {
  std::string column;
  std::vector<std::string> keys;  // distinct equality keys, non-empty
};

// Every constraint of the top-level AND chain, in filter order (a column may appear more
// than once). Empty when there is none, including when the filter is constant (check
// bound_filter::constant() for that).
std::vector<equality_constraint> equality_constraints(const bound_filter& filter);

// The key of a row's value for a column of this type; nullopt for NULL, for a value that
// does not fit the type, and for types filters cannot compare (json, arrays, ...), none of
// which can satisfy an equality constraint.
std::optional<std::string> equality_key(const column_type& type, const boost::json::value& value);

}  // namespace fieldsync::protocol
