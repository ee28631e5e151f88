#include "server/pull/changes_query.hpp"

#include "protocol/json_parse.hpp"
#include <boost/throw_exception.hpp>

#include <charconv>
#include <stdexcept>

namespace fieldsync::server {

void throw_exception_from_error(const request_error& e, const boost::source_location& loc) {
  boost::throw_exception(std::invalid_argument(e.message), loc);
}

std::optional<bool> parse_flag(std::string_view text) {
  if (text == "true" || text == "1" || text.empty()) return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

request_result<changes_query> parse_changes_query(const query_params& query,
                                                  const pull_limits& limits) {
  changes_query q;
  q.limit = limits.default_limit;
  bool seen_cursor = false, seen_where = false, seen_params = false, seen_limit = false,
       seen_live = false;
  auto twice = [](const std::string& name) {
    return request_error{"bad_parameter", "parameter " + name + " is given twice", name, {}};
  };
  for (const auto& [name, value] : query) {
    if (name == "cursor") {
      if (seen_cursor) return twice(name);
      seen_cursor = true;
      if (value.empty()) continue;  // "cursor=": start with a snapshot
      auto p = parse_pull_position(value);
      if (!p) {
        return request_error{"bad_cursor",
                             "cursor: not a cursor this server gave out; omit it to start "
                             "with a snapshot",
                             name,
                             {}};
      }
      q.position = std::move(*p);
    } else if (name == "where") {
      if (seen_where) return twice(name);
      seen_where = true;
      if (!value.empty()) q.where = value;
    } else if (name == "params") {
      if (seen_params) return twice(name);
      seen_params = true;
      auto v = protocol::parse_json_exact(value, 8);
      if (!v || !v->is_array()) {
        return request_error{
            "bad_params", "params: expected a JSON array of values, as in [\"a\",3]", name, {}};
      }
      q.params = std::move(v->as_array());
    } else if (name == "limit") {
      if (seen_limit) return twice(name);
      seen_limit = true;
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0 ||
          n > limits.max_limit) {
        return request_error{
            "bad_limit",
            "limit: expected an integer from 1 to " + std::to_string(limits.max_limit),
            name,
            {}};
      }
      q.limit = n;
    } else if (name == "live") {
      if (seen_live) return twice(name);
      seen_live = true;
      auto b = parse_flag(value);
      if (!b) return request_error{"bad_live", "live: expected true or false", name, {}};
      q.live = *b;
    } else {
      return request_error{
          "unknown_parameter",
          "unknown query parameter " + name + " (known: cursor, where, params, limit, live)",
          name,
          {}};
    }
  }
  if (!q.params.empty() && !q.where) {
    return request_error{"bad_params", "params: given without a where filter", "params", {}};
  }
  return q;
}

request_result<protocol::bound_filter> bind_where(const protocol::collection_schema& schema,
                                                  std::string_view where,
                                                  const boost::json::array& params,
                                                  const boost::json::object& claims,
                                                  const protocol::filter_limits& limits,
                                                  std::string_view parameter) {
  auto fail = [&](const protocol::filter_error& e) {
    return request_error{protocol::filter_errc_name(e.code),
                         std::string(parameter) + ": " + e.to_string(), std::string(parameter),
                         e.position};
  };
  auto checked = protocol::prepare_filter(where, schema, limits);
  if (!checked) return fail(checked.error());
  auto bound = protocol::bind_filter(*checked, params, claims);
  if (!bound) return fail(bound.error());
  return std::move(*bound);
}

}  // namespace fieldsync::server
