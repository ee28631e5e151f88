#pragma once
// Registration of the HTTP pull endpoints (pull_routes.cpp, shape_routes.cpp).

#include "server/net/router.hpp"

#include <memory>

namespace fieldsync::server {

class pull_service;

// GET /v1/collections, /v1/collections/{name}/changes, /v1/collections/{name}/rows/{key}/history.
void add_pull_routes(router& r, std::shared_ptr<pull_service> svc);

// GET and OPTIONS /v1/shape (the ElectricSQL Shape HTTP API).
void add_shape_routes(router& r, std::shared_ptr<pull_service> svc);

}  // namespace fieldsync::server
