#include "server/core/version.hpp"

namespace fieldsync::server {

std::string_view version() noexcept { return FIELDSYNC_VERSION; }

}  // namespace fieldsync::server
