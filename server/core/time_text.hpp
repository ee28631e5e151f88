#pragma once
// Times as the server's JSON answers show them: ISO 8601 UTC to the second.

#include <fmt/chrono.h>

#include <chrono>
#include <string>

namespace fieldsync::server {

// "2026-11-25T11:04:51Z"; empty for the epoch (a time never set).
inline std::string iso_time(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return {};
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace fieldsync::server
