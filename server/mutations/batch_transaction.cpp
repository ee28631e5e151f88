#include "server/mutations/batch_transaction.hpp"

namespace fieldsync::server {

boost::asio::awaitable<void> batch_transaction::async_rollback() {
  if (!open_) co_return;
  open_ = false;
  (void)co_await conn_->async_exec("ROLLBACK");
}

boost::asio::awaitable<mutation_refusal> batch_transaction::async_refuse(mutation_refusal r) {
  co_await async_rollback();
  co_return r;
}

}  // namespace fieldsync::server
