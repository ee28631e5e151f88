#pragma once
// Loading the configuration: one TOML file, every key overridable by
// FIELDSYNC_<SECTION>_<KEY>, checked as a whole before anything starts.

#include "server/core/config.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace fieldsync::server {

using environment = std::map<std::string, std::string>;

// The FIELDSYNC_* variables of the process environment.
environment process_environment();

// Starts from `defaults`, applies the TOML file (if any), then the environment.
// `require_dsn` is false for `fieldsync dev`, which supplies its own database.
config load_config(const std::optional<std::filesystem::path>& file, const environment& env,
                   const config& defaults = {}, bool require_dsn = true);

}  // namespace fieldsync::server
