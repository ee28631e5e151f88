#pragma once
// HTTP vocabulary of the server and the JSON bodies every answer uses.

#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace fieldsync::server {

namespace http = boost::beast::http;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

// A JSON answer with Content-Type, Cache-Control: no-store and the request's keep-alive.
http_response json_response(const http_request& req, http::status status,
                            const boost::json::value& body);

// {"error":{"code":"...","message":"..."}}: the one error shape of every endpoint.
http_response error_response(const http_request& req, http::status status,
                             std::string_view code, std::string_view message);

// The same for answers given before a request could be parsed (HTTP/1.1, connection close).
http_response error_response(http::status status, std::string_view code,
                             std::string_view message);

}  // namespace fieldsync::server
