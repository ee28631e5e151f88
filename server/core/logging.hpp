#pragma once
// spdlog set-up: text or JSON lines on stderr, level from the config.

#include <string_view>

namespace fieldsync::server {

// Installs the default logger. `format` is "text" or "json"; `level` a spdlog level name.
void init_logging(std::string_view format, std::string_view level);

// Changes the level at run time (admin endpoint). Returns false for an unknown name.
bool set_log_level(std::string_view level);

}  // namespace fieldsync::server
