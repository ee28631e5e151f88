#pragma once
// The batch's transaction on its pooled connection (docs/mutations.md "One batch"). It owns
// the one fact every failure path needs: whether a transaction is still open there. A
// failure rolls back once through it and hands the refusal on, so no path can forget the
// ROLLBACK (a pooled connection must go back idle) or send it twice.
//
// Concurrency contract: used by one coroutine of mutation_service at a time, on its executor.

#include "server/mutations/mutation_reply.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/awaitable.hpp>

namespace fieldsync::server {

class batch_transaction {
 public:
  // Made right before the pipeline whose first statement is BEGIN: open from then on.
  explicit batch_transaction(storage::pooled_connection conn) : conn_(std::move(conn)) {}

  storage::pg_connection& connection() const noexcept { return *conn_; }

  // Ends a failed transaction with ROLLBACK; nothing when it has ended already. Its own
  // failure is ignored: a broken connection has no transaction left.
  boost::asio::awaitable<void> async_rollback();

  // Rolls back and passes `r` on: `co_return co_await tx.async_refuse(...)`.
  boost::asio::awaitable<mutation_refusal> async_refuse(mutation_refusal r);

  // The transaction ended without a ROLLBACK of ours: it committed, or the connection broke
  // before the server could run anything more.
  void ended() noexcept { open_ = false; }

 private:
  storage::pooled_connection conn_;
  bool open_ = true;
};

}  // namespace fieldsync::server
