#include "server/net/response_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace fieldsync::server {

namespace asio = boost::asio;

std::string response_head(const http_response& res) {
  std::string head;
  head.reserve(256);
  head += "HTTP/";
  head += static_cast<char>('0' + res.version() / 10);
  head += '.';
  head += static_cast<char>('0' + res.version() % 10);
  head += ' ';
  head += std::to_string(res.result_int());
  head += ' ';
  head += res.reason();
  head += "\r\n";
  for (const auto& field : res) {
    head += field.name_string();
    head += ": ";
    head += field.value();
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

asio::awaitable<boost::system::error_code> async_write_response(boost::beast::tcp_stream& stream,
                                                                const http_response& res) {
  if (res.chunked()) {
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }
  const std::string head = response_head(res);
  // Named, not braced in place: GCC 12 miscompiles some temporaries inside co_await.
  std::array<asio::const_buffer, 2> buffers;
  buffers[0] = asio::buffer(head);
  buffers[1] = asio::buffer(res.body());
  auto [ec, n] = co_await asio::async_write(stream, buffers, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

}  // namespace fieldsync::server
