#pragma once
// An answer written in pieces (Transfer-Encoding: chunked) instead of one string_body, for
// answers too big to hold in memory: NDJSON snapshots. A route handler that wants one uses
// request_context::stream (null where streaming is not possible, e.g. HEAD); once it has
// called async_begin, the response it returns is ignored.
//
// Concurrency contract: used by the handler's coroutine only, on the session's executor.

#include "server/net/http_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <string_view>

namespace fieldsync::server {

class response_stream {
 public:
  virtual ~response_stream() = default;

  // Writes the status line and headers (the body is chunked). False when the peer is gone.
  virtual boost::asio::awaitable<bool> async_begin(http::response_header<> header) = 0;
  // One chunk; empty data is skipped. False when the peer is gone.
  virtual boost::asio::awaitable<bool> async_write(std::string_view data) = 0;
  // The last chunk.
  virtual boost::asio::awaitable<bool> async_end() = 0;

  bool started() const noexcept { return started_; }
  bool failed() const noexcept { return failed_; }

 protected:
  bool started_ = false;
  bool failed_ = false;
};

}  // namespace fieldsync::server
