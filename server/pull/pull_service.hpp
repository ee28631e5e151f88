#pragma once
// What the pull endpoints share (GET /v1/collections..., GET /v1/shape): the caller's
// identity and scope, the reads of one page (a delta after a cursor, or a page of a
// snapshot), the log watch for long-polls and the answer cache. docs/protocol.md, "Delta
// pulls", describes the semantics; server/delta_builder.hpp the compaction.
//
// Concurrency contract: one per app, on the app's io_context; route handlers call it there.

#include "protocol/filter/filter.hpp"
#include "server/access/authenticator.hpp"
#include "server/access/collection_registry.hpp"
#include "server/core/config.hpp"
#include "server/core/metrics_registry.hpp"
#include "server/net/http_types.hpp"
#include "server/pull/delta_builder.hpp"
#include "server/pull/log_watch.hpp"
#include "server/pull/pull_position.hpp"
#include "server/pull/response_cache.hpp"
#include "server/pull/shared_epoch_read.hpp"
#include "storage/change_log_reader.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace fieldsync::server {

// One row of an answer: an upsert (with the row) or a delete of a key.
struct pull_item {
  bool upsert = true;
  bool inside_at_cursor = false;  // the client had the row before this page (update vs insert)
  std::string key;
  protocol::lsn version;
  std::uint32_t idx = 0;
  std::uint32_t xid = 0;
  std::string row_json;  // upserts: the row; deletes: the key columns only
};

struct pull_page {
  storage::cursor_verdict verdict = storage::cursor_verdict::ok;  // not ok: reset, nothing else set
  bool snapshot = false;
  std::vector<pull_item> items;
  pull_position next;  // where the next request continues
  bool has_more = false;
  storage::log_bounds bounds;
};

// The caller's rows of a collection: scope AND where, bound, plus their SQL over the log's
// jsonb rows for a given first placeholder number.
struct pull_filter {
  const collection_access* collection = nullptr;
  std::shared_ptr<const protocol::bound_filter> scope;
  std::optional<protocol::bound_filter> where;
  // A canonical text of both filters and their values (their SQL and parameters), for
  // cache keys: equal exactly when the filters select the same rows.
  std::string identity;

  // The SQL (and its parameters) of scope AND where, placeholders from $(offset + 1).
  std::pair<std::string, std::vector<std::optional<std::string>>> sql(std::size_t offset) const;
  // Sets `where` and appends it to `identity`.
  void set_where(protocol::bound_filter w);
};

// The caller of a pull endpoint: who, and the rows of the collection it may read.
struct pull_caller {
  std::shared_ptr<const principal> who;
  pull_filter filter;
};

// What the pull service reads and whom it asks; the app owns all of it and outlives the
// service. `collections` is filled during start-up, before any request arrives.
struct pull_dependencies {
  boost::asio::any_io_executor executor;
  const authenticator& auth;
  const collection_registry& collections;
  std::shared_ptr<storage::pg_pool> storage_pool;
  std::shared_ptr<storage::log_listener> changes;  // the node's change-log listener
  metric_counter* long_poll_reads = nullptr;       // reads of waiting long-polls woken by a change
};

class pull_service {
 public:
  pull_service(pull_dependencies deps, const pulls_config& cfg);

  const collection_registry& collections() const noexcept { return collections_; }
  storage::pg_pool& storage_pool() noexcept { return *storage_pool_; }
  const pulls_config& cfg() const noexcept { return cfg_; }
  log_watch& watch() noexcept { return *watch_; }
  response_cache& cache() noexcept { return cache_; }
  protocol::filter_limits filter_limits() const noexcept { return {}; }

  // The principal, or the 401 answer.
  std::variant<principal, http_response> authenticate(const http_request& req) const;

  // After a long-poll's wait: the 401 answer when the caller's token was revoked while it
  // waited (its rows are not sent), else nullopt.
  std::optional<http_response> revoked_while_waiting(const http_request& req,
                                                     const principal& who) const;

  // The caller and its scope of collection `name` (authenticate, then bind the read scope),
  // or the 401/404/403 answer. Memoised per token and collection until the token expires
  // or reaches auth.max_token_age (verifying a JWT and binding a scope cost more than
  // serving a cached answer); the deny list is checked on every call.
  std::variant<pull_caller, http_response> caller(const http_request& req, std::string_view name);

  // Holds the computation of one cached answer that this request claimed, and releases it
  // (waking the identical requests that wait for it) on every way out.
  class computation {
   public:
    computation(pull_service& svc, std::string key) : svc_(svc), key_(std::move(key)) {}
    ~computation() { svc_.done(key_); }
    computation(const computation&) = delete;
    computation& operator=(const computation&) = delete;

   private:
    pull_service& svc_;
    std::string key_;
  };

  // A waiting long-poll's place among its user's (by token subject); released on every way
  // out. Tokens without a subject share one count.
  class poll_ticket {
   public:
    using counts = std::map<std::string, std::size_t, std::less<>>;
    poll_ticket(std::shared_ptr<counts> c, std::string subject)
        : counts_(std::move(c)), subject_(std::move(subject)) {}
    poll_ticket(const poll_ticket&) = delete;
    poll_ticket& operator=(const poll_ticket&) = delete;
    ~poll_ticket();

   private:
    std::shared_ptr<counts> counts_;
    std::string subject_;
  };
  // Puts a ticket into `ticket`; false (and none) when the subject has
  // pulls.max_long_polls_per_user waiting already.
  bool admit_long_poll(const std::string& subject, std::optional<poll_ticket>& ticket);
  // 429 too_many_polls, the answer when admit_long_poll() said no.
  static http_response too_many_polls(const http_request& req);

  // The cached answer to `key`: a fresh one, or, while another request computes it, the
  // previous one. Null when this request is to compute it: `claim` then holds the
  // computation, and identical requests arriving meanwhile wait for it instead of reading
  // the database too.
  //
  // `key` gains the epoch committed now (a small read shared with the requests around this
  // one: shared_epoch_read): an answer computed in an epoch that has ended is never served,
  // even before this node hears of the change. When that read fails, `key` is cleared: the
  // request computes its own answer and caches nothing.
  boost::asio::awaitable<std::shared_ptr<const prepared_body>> async_cached_or_claim(
      std::string& key, std::optional<computation>& claim);

  // A delta page after `after` (a log cursor), compacted (delta_builder).
  boost::asio::awaitable<storage::pg_outcome<pull_page>> async_changes_page(
      const pull_filter& filter, const protocol::cursor& after, std::size_t limit);

  // A snapshot page: the first (as of the log's high-water mark now) when `from` is
  // nullopt, else the next one of the same snapshot. `skip` pages by offset instead of by
  // key (the Shape API, whose offsets cannot carry a key).
  boost::asio::awaitable<storage::pg_outcome<pull_page>> async_snapshot_page(
      const pull_filter& filter, std::optional<snapshot_position> from, std::size_t limit,
      std::size_t skip = 0);

  // A live pull whose page (a delta after a log cursor) had nothing for the caller: waits
  // for the log to move from `seen` (taken before that page was read) and reads again,
  // until a page has something, or `deadline`, or shutdown. The page returned is what to
  // answer; a verdict other than ok ends the wait at once (a new epoch: 409 / must-refetch,
  // which the reset's notification makes prompt). An empty page is checked against the
  // log's bounds before it is returned: a long-poll never answers with a position of an
  // epoch that ended while it waited, even if that epoch's notification was missed.
  boost::asio::awaitable<storage::pg_outcome<pull_page>> async_long_poll(
      const pull_filter& filter, pull_page page, std::size_t limit, storage::log_position seen,
      std::chrono::steady_clock::time_point deadline);

  // The log's bounds for the collection now (nullopt: no log yet).
  boost::asio::awaitable<storage::pg_outcome<std::optional<storage::log_bounds>>> async_bounds(
      const pull_filter& filter);

  // 503 with Retry-After when the database cannot be reached, else 500.
  static http_response database_error(const http_request& req, const storage::pg_error& e);
  // 409: the cursor cannot resume; the client starts over without one.
  static http_response reset_response(const http_request& req, storage::cursor_verdict v);

  void stop();

 private:
  struct memo {
    std::shared_ptr<const principal> who;
    std::optional<pull_filter> filter;  // none: the answer is an error (403), not memoised
    std::chrono::system_clock::time_point expires;
  };
  std::variant<pull_filter, http_response> scope(const http_request& req, std::string_view name,
                                                 const principal& who) const;

  boost::asio::any_io_executor executor_;
  const authenticator& auth_;
  const collection_registry& collections_;
  std::shared_ptr<storage::pg_pool> storage_pool_;
  pulls_config cfg_;
  // One computation of `key` at a time: true when the caller should compute it (and then
  // call done(key)); false after waiting for another request's computation of the same key
  // (look in the cache again). `deadline` bounds the wait.
  boost::asio::awaitable<bool> async_claim(const std::string& key,
                                           std::chrono::steady_clock::time_point deadline);
  void done(const std::string& key);

  // Long-polls woken by the same advance of the log with the same filter, cursor and limit
  // read the page once: the first reads, the others wait for its answer and take a copy.
  struct shared_read {
    std::optional<storage::pg_outcome<pull_page>> result;  // none: the reader did not finish
    std::vector<boost::asio::steady_timer*> waiters;
  };
  boost::asio::awaitable<storage::pg_outcome<pull_page>> async_shared_changes_page(
      const pull_filter& filter, const protocol::cursor& after, std::size_t limit,
      const storage::log_position& seen);

  std::shared_ptr<log_watch> watch_;
  metric_counter* long_poll_reads_;
  std::shared_ptr<poll_ticket::counts> polls_ = std::make_shared<poll_ticket::counts>();
  response_cache cache_;
  std::unordered_map<std::string, memo> memo_;
  std::unordered_map<std::string, std::vector<boost::asio::steady_timer*>> in_flight_;
  std::unordered_map<std::string, std::shared_ptr<shared_read>> shared_reads_;
  boost::asio::awaitable<std::optional<std::string>> async_read_epoch();
  shared_epoch_read epoch_;
};

// The JSON text of a page as GET .../changes answers it (application/json), and the NDJSON
// lines of the same.
std::string changes_json(std::string_view collection, const pull_page& page);
std::string changes_ndjson(const pull_page& page);
std::string item_json(const pull_item& item);

}  // namespace fieldsync::server
