#include "storage/pg_pool.hpp"

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <optional>
#include <vector>

namespace fieldsync::storage {

namespace asio = boost::asio;

namespace {

pg_error make_error(pg_errc code, std::string message) {
  return pg_error{make_error_code(code), {}, std::move(message)};
}

}  // namespace

// A coroutine waiting for a connection. It sleeps on a timer that expires at its deadline;
// whoever has something for it earlier fills it in and cancels the timer.
struct pool_waiter {
  pool_waiter(const asio::any_io_executor& ex, asio::steady_timer::time_point deadline)
      : wake(ex, deadline) {}
  asio::steady_timer wake;
  std::unique_ptr<pg_connection> connection;
  bool may_open = false;  // a slot was freed: open a new connection yourself
  bool woken = false;
};

struct pg_pool::impl {
  asio::any_io_executor ex;
  pg_pool_options opts;
  std::vector<std::unique_ptr<pg_connection>> idle;
  std::deque<std::shared_ptr<pool_waiter>> waiters;
  std::size_t open = 0;  // idle + lent + being opened
  bool closed = false;
};

pg_pool::pg_pool(asio::any_io_executor ex, pg_pool_options opts)
    : impl_(std::make_unique<impl>(impl{std::move(ex), std::move(opts), {}, {}, 0, false})) {}

pg_pool::~pg_pool() = default;

std::shared_ptr<pg_pool> pg_pool::create(asio::any_io_executor ex, pg_pool_options opts) {
  return std::shared_ptr<pg_pool>(new pg_pool(std::move(ex), std::move(opts)));
}

asio::awaitable<pg_outcome<pooled_connection>> pg_pool::async_acquire() {
  auto self = shared_from_this();
  auto& d = *impl_;
  bool may_open = false;
  // One deadline for the whole wait, however often the caller is woken to open a
  // connection that then fails.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  for (;;) {
    if (d.closed) co_return make_error(pg_errc::pool_closed, "the pool is closed");
    while (!d.idle.empty()) {
      auto c = std::move(d.idle.back());
      d.idle.pop_back();
      if (c->check_idle()) co_return pooled_connection(self, std::move(c));
      --d.open;  // broke while idle (server restart, terminated backend)
    }
    if (may_open || d.open < d.opts.size) {
      if (!may_open) ++d.open;
      auto c = co_await pg_connection::async_connect(d.ex, d.opts.conninfo, d.opts.connect_timeout,
                                                     {}, d.opts.session);
      if (!c) {
        --d.open;
        // Someone else waiting may try again; this caller gets the error.
        if (!d.waiters.empty()) {
          auto w = d.waiters.front();
          d.waiters.pop_front();
          w->may_open = true;
          ++d.open;
          w->woken = true;
          w->wake.cancel();
        }
        co_return c.error();
      }
      co_return pooled_connection(self, std::move(*c));
    }
    if (d.waiters.size() >= d.opts.max_waiters) {
      co_return make_error(pg_errc::pool_queue_full,
                           std::to_string(d.waiters.size()) + " requests already wait for a connection");
    }
    if (!deadline) deadline = std::chrono::steady_clock::now() + d.opts.acquire_timeout;
    auto w = std::make_shared<pool_waiter>(d.ex, *deadline);
    d.waiters.push_back(w);
    auto [ec] = co_await w->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!w->woken) {
      std::erase(d.waiters, w);
      if (!ec) {
        co_return make_error(pg_errc::pool_timeout,
                             "no connection became free within " +
                                 std::to_string(d.opts.acquire_timeout.count()) + " ms");
      }
      // Cancelled from outside (shutdown): leave the queue.
      co_return make_error(pg_errc::pool_closed, "wait for a connection was cancelled");
    }
    if (w->connection) co_return pooled_connection(self, std::move(w->connection));
    may_open = w->may_open;  // the slot counted in `open` is ours now
    if (!may_open && d.closed) co_return make_error(pg_errc::pool_closed, "the pool is closed");
  }
}

void pg_pool::give_back(std::unique_ptr<pg_connection> c) noexcept {
  auto& d = *impl_;
  // A connection given back inside a transaction (a reader abandoned half-way, a failed
  // statement not rolled back) would hand its snapshot, cursor or aborted state to the next
  // user: it is closed instead, and the next waiter opens a fresh one.
  if (d.closed || !c->is_ok() || PQtransactionStatus(c->native()) != PQTRANS_IDLE) {
    c.reset();
    if (d.closed) {
      --d.open;
      return;
    }
    // Its slot goes to the next waiter, who opens a fresh connection.
    if (!d.waiters.empty()) {
      auto w = d.waiters.front();
      d.waiters.pop_front();
      w->may_open = true;
      w->woken = true;
      w->wake.cancel();
      return;
    }
    --d.open;
    return;
  }
  if (!d.waiters.empty()) {
    auto w = d.waiters.front();
    d.waiters.pop_front();
    w->connection = std::move(c);
    w->woken = true;
    w->wake.cancel();
    return;
  }
  d.idle.push_back(std::move(c));
}

asio::awaitable<pg_outcome<pg_result>> pg_pool::async_query(std::string_view sql,
                                                            const pg_params& params) {
  auto c = co_await async_acquire();
  if (!c) co_return c.error();
  co_return co_await (*c)->async_query(sql, params);
}

void pg_pool::close() {
  auto& d = *impl_;
  if (d.closed) return;
  d.closed = true;
  d.open -= d.idle.size();
  d.idle.clear();
  auto waiters = std::move(d.waiters);
  for (auto& w : waiters) {
    w->woken = true;
    w->wake.cancel();
  }
}

std::size_t pg_pool::open_connections() const noexcept { return impl_->open; }
std::size_t pg_pool::idle_connections() const noexcept { return impl_->idle.size(); }
std::size_t pg_pool::waiters() const noexcept { return impl_->waiters.size(); }

pooled_connection::pooled_connection(std::shared_ptr<pg_pool> pool, std::unique_ptr<pg_connection> c)
    : pool_(std::move(pool)), conn_(std::move(c)) {}

pooled_connection::pooled_connection(pooled_connection&& o) noexcept
    : pool_(std::move(o.pool_)), conn_(std::move(o.conn_)) {}

pooled_connection& pooled_connection::operator=(pooled_connection&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = std::move(o.pool_);
    conn_ = std::move(o.conn_);
  }
  return *this;
}

pooled_connection::~pooled_connection() { release(); }

void pooled_connection::release() noexcept {
  if (pool_ && conn_) pool_->give_back(std::move(conn_));
  pool_.reset();
  conn_.reset();
}

}  // namespace fieldsync::storage
