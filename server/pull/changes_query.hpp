#pragma once
// The query of GET /v1/collections/{name}/changes, parsed and checked before anything
// touches the database: cursor, where, params, limit, live. Every problem is a 400 that
// names the parameter (and, for a filter, the byte position in it). Pure: no I/O.

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter.hpp"
#include "server/pull/pull_position.hpp"
#include "server/net/query_string.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace fieldsync::server {

struct pull_limits {
  std::size_t default_limit = 1000;
  std::size_t max_limit = 10000;
  protocol::filter_limits filter;
};

// A 400 answer: what is wrong, and where.
struct request_error {
  std::string code;                     // bad_cursor, bad_limit, bad_params, filter_syntax, ...
  std::string message;                  // for people, naming the parameter
  std::string parameter;                // the query parameter at fault
  std::optional<std::size_t> position;  // byte offset into a filter
};

[[noreturn]] void throw_exception_from_error(const request_error& e,
                                             const boost::source_location& loc);

template <typename T>
using request_result = boost::system::result<T, request_error>;

struct changes_query {
  std::optional<pull_position> position;  // none: start with a snapshot
  std::optional<std::string> where;       // none: every row of the scope
  boost::json::array params;              // $1, $2, ... of `where`
  std::size_t limit = 0;                  // changes (or snapshot rows) per page at most
  bool live = false;                      // long-poll while there is nothing new
};

request_result<changes_query> parse_changes_query(const query_params& query,
                                                  const pull_limits& limits);

// `where` prepared against the collection and bound to its params and the caller's claims.
// Errors name `parameter` and carry the filter's position.
request_result<protocol::bound_filter> bind_where(const protocol::collection_schema& schema,
                                                  std::string_view where,
                                                  const boost::json::array& params,
                                                  const boost::json::object& claims,
                                                  const protocol::filter_limits& limits,
                                                  std::string_view parameter = "where");

// A boolean query parameter: true/false/1/0 (and an empty value for true).
std::optional<bool> parse_flag(std::string_view text);

}  // namespace fieldsync::server
