#include "server/access/unauthorized.hpp"

namespace fieldsync::server {

http_response unauthorized_response(const http_request& req, const auth_failure& failure) {
  auto res = error_response(req, http::status::unauthorized, failure.code, failure.message);
  res.set(http::field::www_authenticate, "Bearer realm=\"fieldsync\"");
  return res;
}

}  // namespace fieldsync::server
