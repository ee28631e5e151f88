#pragma once
// websocket::stream closes its next layer through teardown()/async_teardown(), found by
// argument-dependent lookup; Beast has them for sockets and basic_stream but not for
// buffered_read_stream, which a WebSocket session reads through (the bytes the HTTP session
// read past the upgrade request come first). Tearing it down is tearing down the stream
// beneath: what is still buffered belongs to a connection that is closing.
//
// In namespace boost::beast because that is where lookup looks for it.

#include <boost/beast/core/buffered_read_stream.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <utility>

namespace boost::beast {

template <class Stream, class DynamicBuffer>
void teardown(role_type role, buffered_read_stream<Stream, DynamicBuffer>& stream, error_code& ec) {
  using websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <class Stream, class DynamicBuffer, class TeardownHandler>
void async_teardown(role_type role, buffered_read_stream<Stream, DynamicBuffer>& stream,
                    TeardownHandler&& handler) {
  using websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace boost::beast
