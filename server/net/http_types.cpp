#include "server/net/http_types.hpp"

#include "server/core/version.hpp"

#include <boost/json/serialize.hpp>

namespace fieldsync::server {

namespace {

http_response make(unsigned version, bool keep_alive, http::status status,
                   const boost::json::value& body) {
  http_response res{status, version};
  res.set(http::field::server, "fieldsync");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = boost::json::serialize(body);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

boost::json::value error_body(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

}  // namespace

http_response json_response(const http_request& req, http::status status,
                            const boost::json::value& body) {
  return make(req.version(), req.keep_alive(), status, body);
}

http_response error_response(const http_request& req, http::status status,
                             std::string_view code, std::string_view message) {
  return make(req.version(), req.keep_alive(), status, error_body(code, message));
}

http_response error_response(http::status status, std::string_view code,
                             std::string_view message) {
  return make(11, false, status, error_body(code, message));
}

}  // namespace fieldsync::server
