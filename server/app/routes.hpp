#pragma once
// The endpoints of each listener. New endpoints register here.

#include "server/net/router.hpp"

namespace fieldsync::server {

class app;

void add_public_routes(router& r, app& a);
void add_admin_routes(router& r, app& a);
void add_metrics_route(router& r, app& a);  // server/metrics_route.cpp
void add_client_routes(router& r, app& a);  // server/client_routes.cpp: /admin/v1/clients

// nullopt when the request carries the admin bearer token; otherwise the answer to give.
std::optional<http_response> check_admin(const request_context& ctx, const app& a);

}  // namespace fieldsync::server
