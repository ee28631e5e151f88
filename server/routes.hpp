#pragma once
// The endpoints of each listener. New endpoints register here.

#include "server/router.hpp"

namespace fieldsync::server {

class app;

void add_public_routes(router& r, app& a);
void add_admin_routes(router& r, app& a);
void add_metrics_route(router& r, app& a);  // server/metrics_route.cpp

}  // namespace fieldsync::server
