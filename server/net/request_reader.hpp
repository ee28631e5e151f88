#pragma once
// How an HTTP connection reads its requests: the read buffer and the parser, with the
// limits of the listener, and what a read error means for the client. The HTTP session and
// the HTTP fuzz target (tests/fuzz/fuzz_http_request.cpp) both use these, so the fuzzer
// exercises exactly the server's configuration.
//
// Every byte read from the socket counts against a limit. The parser consumes body bytes
// as they arrive (body limit) but keeps in the buffer whatever it cannot parse yet: the
// request line and headers, a chunk-size line with its extensions, the trailers. The
// buffer's maximum size (the header limit) bounds those, so a line that never ends fails
// the read with http::error::buffer_overflow instead of growing memory until the timeout.
//
// Pure (no I/O); any thread.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>

namespace fieldsync::server {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The buffer of one connection, for all its requests: at most max_header_bytes.
boost::beast::flat_buffer make_request_buffer(std::size_t max_header_bytes);

// Applies the limits to a fresh parser (one per request).
void limit_request_parser(request_parser& parser, std::size_t max_header_bytes,
                          std::size_t max_body_bytes);

enum class request_read_failure {
  peer_gone,          // eof, reset, timeout, shutdown: nobody to answer
  headers_too_large,  // 431: request line, headers, a chunk line or the trailers
  body_too_large,     // 413
  malformed,          // 400
};

request_read_failure classify_read_error(const boost::system::error_code& ec);

}  // namespace fieldsync::server
