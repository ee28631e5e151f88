// libFuzzer target: the HTTP requests of one connection, read the way the server reads them
// (server/net/http_session.cpp): the connection's bounded buffer and a parser per request
// with the listener's limits (server/net/request_reader.hpp), the headers and then the body
// (chunked or not), request after request while the requests keep the connection alive.
// Input: one byte choosing how many bytes each read returns (the segments a client's bytes
// arrive in), then the bytes. Limits: the smallest the config allows, so inputs reach them.
// What must hold: the buffer never holds more than the header limit, a body never exceeds
// the body limit, and every error has an answer class (no exception, no crash).
#include "server/net/request_reader.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace http = boost::beast::http;
using fieldsync::server::classify_read_error;
using fieldsync::server::limit_request_parser;
using fieldsync::server::make_request_buffer;
using fieldsync::server::request_parser;

namespace {

constexpr std::size_t max_header_bytes = 1024;  // server.max_header_bytes, lower bound
constexpr std::size_t max_body_bytes = 1024;    // server.max_body_bytes, lower bound

// A SyncReadStream that hands out the input in pieces of at most `piece` bytes, then eof.
class piecewise_stream {
 public:
  piecewise_stream(std::string_view data, std::size_t piece) : data_(data), piece_(piece) {}

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (data_.empty()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    ec = {};
    auto n = boost::asio::buffer_copy(
        buffers, boost::asio::buffer(data_.data(), std::min(piece_, data_.size())));
    data_.remove_prefix(n);
    return n;
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::string_view data_;
  std::size_t piece_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64 * 37;  // 1 byte to a few KiB per read
  piecewise_stream stream(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
                          piece);
  auto buffer = make_request_buffer(max_header_bytes);
  for (int requests = 0; requests < 64; ++requests) {
    request_parser parser;
    limit_request_parser(parser, max_header_bytes, max_body_bytes);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (!ec && !parser.is_done()) http::read(stream, buffer, parser, ec);
    if (buffer.size() > max_header_bytes) __builtin_trap();
    if (ec) {
      (void)classify_read_error(ec);
      break;
    }
    auto req = parser.release();
    if (req.body().size() > max_body_bytes) __builtin_trap();
    if (!req.keep_alive()) break;
  }
  return 0;
}
