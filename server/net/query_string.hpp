#pragma once
// The query string of a request as name/value pairs, decoded the way browsers and
// URLSearchParams encode it ('+' is a space, %XX an escaped byte).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::server {

using query_params = std::vector<std::pair<std::string, std::string>>;

// nullopt when an escape is malformed. The request target is already bounded by
// server.max_header_bytes, so the result is too.
std::optional<query_params> parse_query(std::string_view query);

// The value of the first parameter called `name`, if any.
const std::string* find_param(const query_params& params, std::string_view name);

}  // namespace fieldsync::server
