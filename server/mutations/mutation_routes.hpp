#pragma once
// HTTP endpoints of client writes: POST /v1/mutations on the public listener, and the
// conflict listing of the admin listener (docs/protocol.md "Mutations"). They turn the
// service's mutation_reply into HTTP: the status code of each refusal kind, Retry-After on
// 503, the {"error": {...}} body.

#include "server/access/authenticator.hpp"
#include "server/mutations/mutation_service.hpp"
#include "server/net/router.hpp"

#include <boost/asio/awaitable.hpp>

namespace fieldsync::server {

// POST /v1/mutations: bearer auth, a JSON batch, per-mutation results. `auth` must outlive
// the router.
void add_mutation_routes(router& r, const authenticator& auth, mutation_service_source mutations);

// GET /admin/v1/conflicts?limit=&before=&collection=&client_id= (the caller checked the
// admin token).
boost::asio::awaitable<http_response> list_conflicts(request_context& ctx,
                                                     mutation_service_source mutations);

}  // namespace fieldsync::server
