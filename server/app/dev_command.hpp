#pragma once

#include "server/core/config.hpp"

#include <filesystem>

namespace fieldsync::server {

struct dev_options {
  std::filesystem::path data_dir = ".fieldsync";
};

// The configuration `fieldsync dev` starts from: the documented defaults with the listeners
// on localhost, so the demo is not exposed to the network.
config dev_defaults();

// `fieldsync dev`: private cluster, demo data, server. Returns the exit code.
int dev_command(config cfg, const dev_options& opts);

}  // namespace fieldsync::server
