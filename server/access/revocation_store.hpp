#pragma once
// The deny list as stored (fieldsync.revocations in the storage database, migration 3 of
// storage/log_schema), so that every node sees it: revocations are written here by the
// admin API of any node and applied at once to that node's deny_list; every node rereads
// the table every auth.revocation_refresh, prunes the entries whose `until` has passed and
// replaces its copy.
//
// Concurrency contract: lives on the app's io_context; the coroutines run there. The
// deny_list it fills is thread-safe.

#include "server/access/deny_list.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::server {

// More would make the list a database of users: a node keeps this many at most.
inline constexpr std::size_t max_revocations = 100'000;

// The admin API's `until`: RFC 3339 text (parsed by PostgreSQL) or a NumericDate.
struct revocation_until {
  std::optional<std::string> text;
  std::optional<std::int64_t> seconds;
};

class revocation_store : public std::enable_shared_from_this<revocation_store> {
 public:
  // `on_change` runs (on the io_context) after a refresh changed the copy: the app closes
  // the sessions the list now refuses. (After a put, the admin route does it.)
  static std::shared_ptr<revocation_store> create(boost::asio::any_io_executor ex,
                                                  std::shared_ptr<storage::pg_pool> storage,
                                                  std::shared_ptr<deny_list> list,
                                                  std::chrono::milliseconds refresh,
                                                  std::function<void()> on_change);

  // The refresh loop; stop() ends it.
  void start();
  void stop();

  // Stores a revocation (again: its revoked_at becomes now) and applies it here at once.
  // Errors carry the SQLSTATE (class 22 or 23514: the `until` given is not a time within
  // range; 42P01: the schema is not there yet).
  boost::asio::awaitable<storage::pg_outcome<revocation>> async_put(revocation_kind kind,
                                                                    std::string value,
                                                                    revocation_until until);
  // Removes one; false when there was none.
  boost::asio::awaitable<storage::pg_outcome<bool>> async_lift(revocation_kind kind,
                                                               std::string value);
  // Prunes and rereads the table into the deny list. A missing table is an empty list.
  boost::asio::awaitable<storage::pg_outcome<void>> async_refresh();

  const deny_list& list() const noexcept { return *list_; }

  revocation_store(boost::asio::any_io_executor ex, std::shared_ptr<storage::pg_pool> storage,
                   std::shared_ptr<deny_list> list, std::chrono::milliseconds refresh,
                   std::function<void()> on_change);

 private:
  boost::asio::awaitable<void> run(std::shared_ptr<boost::asio::steady_timer> timer);

  boost::asio::any_io_executor ex_;
  std::shared_ptr<storage::pg_pool> storage_;
  std::shared_ptr<deny_list> list_;
  std::chrono::milliseconds refresh_;
  std::function<void()> on_change_;
  // Owned by the refresh loop's frame, not by the store: the routes keep the store beyond
  // the io_context, and a timer must not outlive its io_context.
  std::weak_ptr<boost::asio::steady_timer> timer_;
  bool stopped_ = false;
};

}  // namespace fieldsync::server
