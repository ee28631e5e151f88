#pragma once
// The one 401 answer of the public API (pulls, mutations, the WebSocket upgrade): the
// failure's code and message as the JSON error, and the Bearer challenge RFC 6750 asks for.

#include "server/access/authenticator.hpp"
#include "server/net/http_types.hpp"

namespace fieldsync::server {

http_response unauthorized_response(const http_request& req, const auth_failure& failure);

}  // namespace fieldsync::server
