#pragma once
// Sends a starting subscription's messages (snapshot batches, catch-up changes) in chunks
// and lets its start task wait until the client has read them: a snapshot or a catch-up can
// be far larger than a session's send queue, so it goes out no faster than the client reads.
//
// Concurrency contract: lives on the hub's strand (`strand`); the session reports each
// chunk written or dropped by posting there.

#include "server/net/ws_session.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace fieldsync::server {

class start_pacer {
 public:
  enum class outcome { ok, gone, stalled };

  // Chunks are sized from the session's queue limits; `stall` is how long a settle() waits
  // for the client to read anything before it reports `stalled`.
  start_pacer(boost::asio::any_io_executor strand, std::weak_ptr<ws_session> session,
              std::size_t session_queue_messages, std::size_t session_queue_bytes,
              std::chrono::milliseconds stall);

  // Gathers a message; true when that completed a chunk and sent it: the caller then
  // settles before pushing much more.
  bool push(std::shared_ptr<const std::string> head, std::string body);
  // Sends what is gathered.
  void flush();
  // Flushes, then waits until at most `max_outstanding` chunks are unwritten.
  boost::asio::awaitable<outcome> settle(std::size_t max_outstanding);

 private:
  // Shared with the chunks' completion handlers, which may outlive the pacer.
  struct signal {
    explicit signal(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    std::size_t outstanding = 0;  // chunks handed to the session, not yet written or dropped
    bool dropped = false;         // the session dropped one: it is closing
  };

  boost::asio::any_io_executor strand_;
  std::weak_ptr<ws_session> session_;
  std::size_t chunk_messages_;
  std::size_t chunk_bytes_;
  std::chrono::milliseconds stall_;
  std::shared_ptr<signal> sig_;
  std::vector<ws_message> chunk_;
  std::size_t bytes_ = 0;
};

}  // namespace fieldsync::server
