#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <string_view>

namespace fieldsync::server {

// "0.0.0.0:8080", "127.0.0.1:0", "[::1]:9090", "localhost:8080" -> an endpoint to bind.
// Host names other than localhost are refused: a listener binds an address, it does not
// resolve one.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

}  // namespace fieldsync::server
