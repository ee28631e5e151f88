#include "storage/log_listener.hpp"

#include "storage/pg_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

namespace {

// "<epoch> <lsn>" as the change log writer notifies it.
std::optional<log_position> parse_payload(std::string_view text) {
  auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  log_position p;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, p.epoch);
  if (ec != std::errc() || end != text.data() + space) return std::nullopt;
  auto high = lsn::parse(text.substr(space + 1));
  if (!high) return std::nullopt;
  p.high = *high;
  return p;
}

}  // namespace

struct log_listener::loop {
  static asio::awaitable<void> run(std::shared_ptr<log_listener> self) {
    asio::steady_timer timer(self->ex_);
    auto backoff = std::chrono::milliseconds(200);
    while (!self->stopped_) {
      auto conn = co_await pg_connection::async_connect(self->ex_, self->conninfo_,
                                                        self->connect_timeout_);
      if (conn) {
        pg_connection* raw = conn->get();
        self->cancel_ = [raw, &timer] {
          raw->cancel();
          timer.cancel();
        };
        if (co_await follow(*self, *raw)) backoff = std::chrono::milliseconds(200);
        self->cancel_ = [&timer] { timer.cancel(); };
      } else {
        spdlog::debug("log listener: {}", conn.error().to_string());
      }
      if (self->stopped_) break;
      timer.expires_after(backoff);
      (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
    self->cancel_ = nullptr;
  }

  // Listens until the connection fails; true when it got as far as listening.
  static asio::awaitable<bool> follow(log_listener& self, pg_connection& conn) {
    auto listening = co_await conn.async_exec("LISTEN fieldsync_log");
    if (!listening) co_return false;
    auto state = co_await conn.async_query("SELECT epoch, high_lsn::text FROM fieldsync.state");
    if (state && state->rows() == 1) {
      log_position p;
      p.epoch = std::stoll(std::string(state->value(0, 0)));
      p.high = lsn::parse(state->value(0, 1)).value_or(lsn());
      self.deliver(p);
    }
    for (;;) {
      auto notes = co_await conn.async_wait_notifications();
      if (!notes) {
        if (!self.stopped_) spdlog::debug("log listener: {}", notes.error().to_string());
        co_return true;
      }
      for (const auto& n : *notes) {
        if (auto p = parse_payload(n.payload)) self.deliver(*p);
      }
    }
  }
};

std::shared_ptr<log_listener> log_listener::create(asio::any_io_executor ex,
                                                   std::string storage_conninfo,
                                                   callback on_advance,
                                                   std::chrono::milliseconds connect_timeout) {
  return std::shared_ptr<log_listener>(new log_listener(
      std::move(ex), std::move(storage_conninfo), std::move(on_advance), connect_timeout));
}

log_listener::log_listener(asio::any_io_executor ex, std::string conninfo, callback cb,
                           std::chrono::milliseconds timeout)
    : ex_(std::move(ex)),
      conninfo_(std::move(conninfo)),
      on_advance_(std::move(cb)),
      connect_timeout_(timeout) {}

void log_listener::start() { asio::co_spawn(ex_, loop::run(shared_from_this()), asio::detached); }

void log_listener::stop() {
  stopped_ = true;
  if (cancel_) cancel_();
}

void log_listener::deliver(const log_position& p) {
  // A new epoch always counts; within one, only an advance does.
  if (p.epoch == position_.epoch && p.high <= position_.high) return;
  position_ = p;
  if (on_advance_) on_advance_(p);
}

}  // namespace fieldsync::storage
