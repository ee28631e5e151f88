#pragma once
// The server's name for storage::spawn_logged, the one way to start a coroutine that nobody
// awaits (an escaped exception is logged, never dropped or left to end the process). Here so
// that server/net, which may not include storage/ (it knows nothing of PostgreSQL), reaches
// it through server/core like every other folder of server/.

#include "storage/spawn_logged.hpp"

namespace fieldsync::server {

using storage::spawn_logged;

}  // namespace fieldsync::server
