#pragma once
// GET /v1/collections/{name}/digest (docs/protocol.md, "State check"): the digest of the
// rows a client holding a cursor has of a collection for its scope and filter.

#include "server/net/router.hpp"

#include <memory>

namespace fieldsync::server {

class pull_service;

void add_digest_route(router& r, std::shared_ptr<pull_service> svc);

}  // namespace fieldsync::server
