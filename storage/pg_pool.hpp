#pragma once
// A small pool of pg_connections for the reactor.
//
// Concurrency contract: the pool and every connection it hands out live on the pool's
// executor. async_acquire waits (bounded by max_waiters and acquire_timeout) until a
// connection is free or a new one can be opened; the returned handle gives the connection
// back when destroyed. Connections are opened lazily, up to `size`, with the session
// limits of the options.
//
// What it hands out is usable as far as it can tell: a connection that broke, or that was
// given back inside a transaction (a failure half-way, a reader abandoned), is closed, never
// lent again; an idle one whose server went away meanwhile (a restart) is noticed without
// waiting when it is taken and replaced.

#include "storage/pg_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace fieldsync::storage {

struct pg_pool_options {
  std::string conninfo;
  std::size_t size = 8;
  std::size_t max_waiters = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  // A caller waiting longer than this for a free connection fails with pool_timeout.
  std::chrono::milliseconds acquire_timeout{10'000};
  pg_session_limits session;
};

class pg_pool;

// A connection on loan from the pool. Move-only; returns the connection on destruction.
class pooled_connection {
 public:
  pooled_connection() = default;
  pooled_connection(pooled_connection&&) noexcept;
  pooled_connection& operator=(pooled_connection&&) noexcept;
  ~pooled_connection();

  pg_connection* operator->() const noexcept { return conn_.get(); }
  pg_connection& operator*() const noexcept { return *conn_; }

 private:
  friend class pg_pool;
  pooled_connection(std::shared_ptr<pg_pool> pool, std::unique_ptr<pg_connection> c);
  void release() noexcept;
  std::shared_ptr<pg_pool> pool_;
  std::unique_ptr<pg_connection> conn_;
};

class pg_pool : public std::enable_shared_from_this<pg_pool> {
 public:
  static std::shared_ptr<pg_pool> create(boost::asio::any_io_executor ex, pg_pool_options opts);
  ~pg_pool();

  boost::asio::awaitable<pg_outcome<pooled_connection>> async_acquire();

  // Acquire, run one parameterised statement, release.
  boost::asio::awaitable<pg_outcome<pg_result>> async_query(std::string_view sql,
                                                            const pg_params& params = {});

  // Fails every waiter with pool_closed and closes idle connections.
  void close();

  std::size_t open_connections() const noexcept;
  std::size_t idle_connections() const noexcept;
  std::size_t waiters() const noexcept;

 private:
  struct impl;
  pg_pool(boost::asio::any_io_executor ex, pg_pool_options opts);
  friend class pooled_connection;
  void give_back(std::unique_ptr<pg_connection> c) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace fieldsync::storage
