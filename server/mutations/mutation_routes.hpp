#pragma once
// HTTP endpoints of client writes: POST /v1/mutations on the public listener, and the
// conflict listing of the admin listener (docs/protocol.md "Mutations").

#include "server/access/authenticator.hpp"
#include "server/mutations/mutation_service.hpp"
#include "server/net/router.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>

namespace fieldsync::server {

// The mutation service once start-up made it; null before.
using mutation_service_getter = std::function<std::shared_ptr<mutation_service>()>;

// POST /v1/mutations: bearer auth, a JSON batch, per-mutation results.
void add_mutation_routes(router& r, const authenticator& auth, mutation_service_getter mutations);

// GET /admin/v1/conflicts?limit=&before=&collection=&client_id= (the caller checked the
// admin token). `service` is null while the server starts.
boost::asio::awaitable<http_response> list_conflicts(request_context& ctx,
                                                     std::shared_ptr<mutation_service> service);

}  // namespace fieldsync::server
