#include "server/live/start_pacer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace fieldsync::server {

namespace asio = boost::asio;

start_pacer::start_pacer(asio::any_io_executor strand, std::weak_ptr<ws_session> session,
                         std::size_t session_queue_messages, std::size_t session_queue_bytes,
                         std::chrono::milliseconds stall)
    : strand_(std::move(strand)),
      session_(std::move(session)),
      // At most three chunks are unwritten at a time (settle(2) after each): well inside
      // the session's queue, with room for its other subscriptions' live changes.
      chunk_messages_(
          std::max<std::size_t>(1, std::min<std::size_t>(256, session_queue_messages / 8))),
      // At most 256 KiB: a client on a slow link must finish one chunk within the stall
      // timeout (websocket.start_stall_timeout_ms) to keep its start slot.
      chunk_bytes_(std::clamp<std::size_t>(session_queue_bytes / 8, 1, 256 * 1024)),
      stall_(stall),
      sig_(std::make_shared<signal>(strand_)) {}

bool start_pacer::push(std::shared_ptr<const std::string> head, std::string body) {
  bytes_ += (head ? head->size() : 0) + body.size();
  chunk_.push_back(
      ws_message{std::move(head), std::make_shared<const std::string>(std::move(body)), nullptr});
  if (chunk_.size() < chunk_messages_ && bytes_ < chunk_bytes_) return false;
  flush();
  return true;
}

void start_pacer::flush() {
  if (chunk_.empty()) return;
  auto s = session_.lock();
  if (!s) {
    sig_->dropped = true;
    chunk_.clear();
    return;
  }
  chunk_.back().on_done = [sig = sig_, ex = strand_](bool written) {
    asio::post(ex, [sig, written] {
      --sig->outstanding;
      if (!written) sig->dropped = true;
      sig->timer.cancel();
    });
  };
  ++sig_->outstanding;
  s->send(std::move(chunk_));
  chunk_.clear();
  bytes_ = 0;
}

asio::awaitable<start_pacer::outcome> start_pacer::settle(std::size_t max_outstanding) {
  flush();
  while (sig_->outstanding > max_outstanding && !sig_->dropped) {
    sig_->timer.expires_after(stall_);
    auto [ec] = co_await sig_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec && sig_->outstanding > max_outstanding && !sig_->dropped) co_return outcome::stalled;
  }
  co_return sig_->dropped ? outcome::gone : outcome::ok;
}

}  // namespace fieldsync::server
