#pragma once

#include <string_view>

namespace fieldsync::server {

// "0.1.0"; reported by --version, /healthz and the admin status.
std::string_view version() noexcept;

}  // namespace fieldsync::server
