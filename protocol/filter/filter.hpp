#pragma once
// The filter language in one include (docs/filters.md): client `where` filters on
// subscriptions and pulls, and the per-collection read/write scopes of the config.
//
//   auto checked = prepare_filter("territory_id = ANY($claims.territories)", schema);
//   auto bound = bind_filter(*checked, params, claims);      // per subscriber
//   matches(*bound, row);                                    // fan-out, per change
//   compile_sql(*bound, column_sql, sql_params);             // pulls and snapshots
//   equality_constraints(*bound);                            // the hub's index
//
// Stages: parse_filter (text -> filter_ast, limits), check_filter (columns and literal
// types against collection_schema), bind_filter ($n and $claims values, constant folding),
// then evaluate/matches, compile_sql and equality_constraints on the bound_filter. Every
// stage reports a filter_error {code, byte position, message}; none throws on input.

#include "protocol/filter/filter_ast.hpp"
#include "protocol/filter/filter_bound.hpp"
#include "protocol/filter/filter_check.hpp"
#include "protocol/filter/filter_constraints.hpp"
#include "protocol/filter/filter_error.hpp"
#include "protocol/filter/filter_limits.hpp"
#include "protocol/filter/filter_match.hpp"
#include "protocol/filter/filter_parser.hpp"
#include "protocol/filter/filter_sql.hpp"
