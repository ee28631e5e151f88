#pragma once
// HTTP endpoints of client writes: POST /v1/mutations on the public listener, and the
// conflict listing of the admin listener (docs/protocol.md "Mutations").

#include "server/net/router.hpp"

#include <boost/asio/awaitable.hpp>

namespace fieldsync::server {

class app;

// POST /v1/mutations: bearer auth, a JSON batch, per-mutation results.
void add_mutation_routes(router& r, app& a);

// GET /admin/v1/conflicts?limit=&before=&collection=&client_id= (the caller checked the
// admin token).
boost::asio::awaitable<http_response> list_conflicts(request_context& ctx, app& a);

}  // namespace fieldsync::server
