#pragma once
// Method + path routing with {name} segments, for both listeners.
//
// Concurrency contract: routes are added at start-up, before any session runs; dispatch is
// const and may run on any session's executor.

#include "server/net/http_types.hpp"
#include "server/net/response_stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::server {

struct request_context {
  const http_request& request;
  std::string_view path;   // the target without the query string
  std::string_view query;  // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> path_params;  // percent-decoded
  response_stream* stream = nullptr;  // set when the answer may be streamed

  // The decoded value of a {name} segment; empty if there is none.
  std::string_view param(std::string_view name) const;
};

using route_handler = std::function<boost::asio::awaitable<http_response>(request_context&)>;

class router {
 public:
  // `pattern` is a path like "/v1/collections/{name}/changes".
  void add(http::verb method, std::string pattern, route_handler handler);

  // The handler of GET and HEAD requests whose path no route has (static files). Without
  // one, or for other methods, such requests get 404.
  void set_fallback(route_handler handler) { fallback_ = std::move(handler); }

  // Runs the matching handler. Unknown path: the fallback for GET/HEAD, else 404; known
  // path, other method: 405 with Allow.
  // `stream`, if given, lets the handler stream its answer instead (response_stream.hpp).
  boost::asio::awaitable<http_response> dispatch(const http_request& req,
                                                 response_stream* stream = nullptr) const;

 private:
  struct route {
    http::verb method;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    route_handler handler;
  };
  std::vector<route> routes_;
  route_handler fallback_;
};

// Percent-decodes a path segment or query component ('+' stays '+'). nullopt on bad escapes.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace fieldsync::server
