#pragma once

#include "server/core/config.hpp"

#include <filesystem>
#include <string>

namespace fieldsync::server {

struct token_options {
  std::filesystem::path data_dir = ".fieldsync";  // of `fieldsync dev`: its jwt_secret
  std::string claims;                             // a JSON object
  std::string kid;                                // empty: the only HS256 key
  long long ttl_seconds = 24 * 3600;
};

// `fieldsync token`: prints a bearer token for `claims`, signed with an HS256 key of the
// configuration or, when it has none, with the dev key kept in the data directory of
// `fieldsync dev`. Returns the exit code; throws config_error for bad input.
int token_command(config cfg, const token_options& opts);

}  // namespace fieldsync::server
