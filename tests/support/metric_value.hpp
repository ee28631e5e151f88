#pragma once
// One sample of the node's Prometheus text (GET /metrics on the admin listener), for e2e
// tests that observe what the server did rather than how long it took.

#include "tests/support/http_client.hpp"

#include <cstdint>
#include <optional>
#include <regex>
#include <string>

namespace fieldsync::test {

// The value of the unlabelled series `name`, or nullopt when /metrics does not have it.
inline std::optional<std::int64_t> metric_value(std::uint16_t admin_port, const std::string& name) {
  auto text = http_call(admin_port, boost::beast::http::verb::get, "/metrics").body;
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + name + " (-?[0-9]+)"))) return std::nullopt;
  return std::stoll(m[1]);
}

}  // namespace fieldsync::test
