#pragma once

#include "server/core/config.hpp"

namespace fieldsync::server {

// `fieldsync serve`: runs the server with `cfg` until SIGINT/SIGTERM. Returns the exit code.
int serve_command(const config& cfg);

}  // namespace fieldsync::server
