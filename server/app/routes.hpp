#pragma once
// The wiring of the public listener's endpoints: which route gets which service. New
// endpoints register here; the admin listener's are in server/admin/admin_services.hpp.

#include "server/net/router.hpp"

namespace fieldsync::server {

class app;

void add_public_routes(router& r, app& a);

}  // namespace fieldsync::server
