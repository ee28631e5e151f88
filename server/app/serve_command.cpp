#include "server/app/serve_command.hpp"

#include "server/app/app.hpp"
#include "server/core/version.hpp"

#include <spdlog/spdlog.h>

namespace fieldsync::server {

int serve_command(const config& cfg) {
  spdlog::info("fieldsync {} starting", version());
  app a(cfg);
  a.run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace fieldsync::server
