#include "storage/log_listener.hpp"

#include "storage/pg_connection.hpp"
#include "storage/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
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
    const auto& o = self->options_;
    auto backoff = o.reconnect_min;
    while (!self->stopped_) {
      auto conn = co_await pg_connection::async_connect(self->ex_, self->conninfo_,
                                                        o.connect_timeout, {}, o.session);
      if (conn) {
        pg_connection* raw = conn->get();
        self->cancel_ = [raw, &timer] {
          raw->cancel();
          timer.cancel();
        };
        if (co_await follow(*self, *raw)) backoff = o.reconnect_min;
        self->cancel_ = [&timer] { timer.cancel(); };
      } else {
        spdlog::debug("log listener: {}", conn.error().to_string());
      }
      if (self->stopped_) break;
      timer.expires_after(backoff);
      (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, o.reconnect_max);
    }
    self->cancel_ = nullptr;
  }

  // The state as stored: every advance before it, whether notified or not.
  static asio::awaitable<bool> read_state(log_listener& self, pg_connection& conn) {
    auto state = co_await conn.async_query("SELECT epoch, high_lsn::text FROM fieldsync.state");
    if (!state) {
      if (!self.stopped_) spdlog::debug("log listener: {}", state.error().to_string());
      // No log yet (the ingest creates it) is no reason to drop the connection.
      co_return conn.is_ok();
    }
    if (state->rows() == 1) {
      log_position p;
      p.epoch = std::stoll(std::string(state->value(0, 0)));
      p.high = lsn::parse(state->value(0, 1)).value_or(lsn());
      self.deliver(p);
    }
    co_return true;
  }

  // Listens until the connection fails; true when it got as far as listening.
  static asio::awaitable<bool> follow(log_listener& self, pg_connection& conn) {
    // LISTEN before the read: whatever commits after the read is notified.
    auto listening = co_await conn.async_exec("LISTEN fieldsync_log");
    if (!listening) co_return false;
    // Names copied first: stop() may clear the list while a LISTEN is under way.
    std::vector<std::string> channels;
    for (const auto& c : self.channels_) channels.push_back(c.first);
    for (const auto& channel : channels) {
      listening = co_await conn.async_exec("LISTEN " + channel);
      if (!listening) co_return false;
    }
    if (!co_await read_state(self, conn)) co_return true;
    for (;;) {
      auto notes = co_await conn.async_wait_notifications(std::chrono::steady_clock::now() +
                                                          self.options_.check_interval);
      if (!notes) {
        if (!self.stopped_) spdlog::debug("log listener: {}", notes.error().to_string());
        co_return true;
      }
      if (notes->empty()) {
        // Quiet for check_interval: prove the connection still answers (the operation
        // timeout bounds it) and pick up anything not notified.
        if (!co_await read_state(self, conn)) co_return true;
        continue;
      }
      for (const auto& n : *notes) {
        if (n.channel != "fieldsync_log") {
          self.deliver_payload(n.channel, n.payload);
        } else if (auto p = parse_payload(n.payload)) {
          self.deliver(*p);
        }
      }
    }
  }
};

std::shared_ptr<log_listener> log_listener::create(asio::any_io_executor ex,
                                                   std::string storage_conninfo,
                                                   log_listener_options options) {
  return std::shared_ptr<log_listener>(
      new log_listener(std::move(ex), std::move(storage_conninfo), std::move(options)));
}

std::shared_ptr<log_listener> log_listener::create(asio::any_io_executor ex,
                                                   std::string storage_conninfo,
                                                   callback on_advance,
                                                   log_listener_options options) {
  auto self = create(std::move(ex), std::move(storage_conninfo), std::move(options));
  self->subscribe(std::move(on_advance));
  return self;
}

std::shared_ptr<log_listener> log_listener::create(asio::any_io_executor ex,
                                                   std::string storage_conninfo,
                                                   callback on_advance,
                                                   std::chrono::milliseconds connect_timeout) {
  log_listener_options o;
  o.connect_timeout = connect_timeout;
  return create(std::move(ex), std::move(storage_conninfo), std::move(on_advance), std::move(o));
}

log_listener::log_listener(asio::any_io_executor ex, std::string conninfo,
                           log_listener_options options)
    : ex_(std::move(ex)), conninfo_(std::move(conninfo)), options_(std::move(options)) {}

void log_listener::subscribe(callback on_advance) {
  if (on_advance) subscribers_.push_back(std::move(on_advance));
}

void log_listener::listen(std::string channel, payload_callback on_payload) {
  if (on_payload) channels_.emplace_back(std::move(channel), std::move(on_payload));
}

void log_listener::deliver_payload(const std::string& channel, std::string_view payload) {
  // By index, on a copy: a callback may stop the listener, which clears the list.
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    if (channels_[i].first != channel) continue;
    auto on_payload = channels_[i].second;
    on_payload(payload);
  }
}

void log_listener::start() { spawn_logged(ex_, loop::run(shared_from_this()), "change-log listener"); }

void log_listener::stop() {
  stopped_ = true;
  if (cancel_) cancel_();
  // Subscribers hold executors of the io_context (the hub's strand); the listener itself
  // may outlive it (routes hold the pull service, and it the listener), so they are
  // released now, while the io_context still runs.
  subscribers_.clear();
  channels_.clear();
}

void log_listener::deliver(const log_position& p) {
  // A new epoch always counts; within one, only an advance does.
  if (p.epoch == position_.epoch && p.high <= position_.high) return;
  position_ = p;
  // By index, on a copy: a subscriber may stop the listener, which clears the list.
  for (std::size_t i = 0; i < subscribers_.size(); ++i) {
    auto on_advance = subscribers_[i];
    on_advance(p);
  }
}

}  // namespace fieldsync::storage
