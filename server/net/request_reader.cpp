#include "server/net/request_reader.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace fieldsync::server {

namespace http = boost::beast::http;

boost::beast::flat_buffer make_request_buffer(std::size_t max_header_bytes) {
  return boost::beast::flat_buffer(max_header_bytes);
}

void limit_request_parser(request_parser& parser, std::size_t max_header_bytes,
                          std::size_t max_body_bytes) {
  // The config loader bounds max_header_bytes to 1 MiB; the clamp only guards the cast.
  constexpr std::size_t max_limit = std::numeric_limits<std::uint32_t>::max();
  parser.header_limit(static_cast<std::uint32_t>(std::min(max_header_bytes, max_limit)));
  parser.body_limit(max_body_bytes);
}

request_read_failure classify_read_error(const boost::system::error_code& ec) {
  // The buffer is full and the parser still needs more: a line (request line, header,
  // chunk size with extensions, trailer) longer than the header limit allows.
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return request_read_failure::headers_too_large;
  }
  if (ec == http::error::body_limit) return request_read_failure::body_too_large;
  // The peer closed between requests: not a malformed request, and nobody reads an answer.
  if (ec == http::error::end_of_stream) return request_read_failure::peer_gone;
  if (ec.category() == make_error_code(http::error::bad_target).category()) {
    return request_read_failure::malformed;
  }
  return request_read_failure::peer_gone;
}

}  // namespace fieldsync::server
