#pragma once
// Writing a whole (not streamed) answer: its head as text and its body in one gather write.
//
// Beast's serializer walks the head's fields through nested buffer-sequence views on every
// write; for the small answers most requests get (a cached delta of a few KiB) that walk
// cost more than the rest of the request (docs/benchmarks.md, "Fourth session"). The head is the
// same bytes Beast would write (unit test against Beast's serializer); a chunked answer
// still goes through Beast.

#include "server/net/http_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include <string>

namespace fieldsync::server {

// The status line, the fields and the empty line ending the head, as Beast writes them.
std::string response_head(const http_response& res);

// Writes `res` (head, then body) to `stream`; the error of the write, if any.
boost::asio::awaitable<boost::system::error_code> async_write_response(
    boost::beast::tcp_stream& stream, const http_response& res);

}  // namespace fieldsync::server
