#include "storage/commit_version_waiter.hpp"

#include "storage/mutation_sql.hpp"
#include "storage/spawn_logged.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <limits>

namespace fieldsync::storage {

namespace asio = boost::asio;

namespace {

// Between a failed read of the log (the database restarting) and the next: short against
// mutations.version_wait_ms, which bounds how long anyone waits anyway.
constexpr std::chrono::milliseconds retry_delay{200};

}  // namespace

std::shared_ptr<commit_version_waiter> commit_version_waiter::create(
    asio::any_io_executor ex, std::shared_ptr<pg_pool> storage,
    std::shared_ptr<log_listener> changes) {
  auto self = std::shared_ptr<commit_version_waiter>(
      new commit_version_waiter(ex, std::move(storage), std::move(changes)));
  std::weak_ptr<commit_version_waiter> weak = self;
  self->changes_->subscribe([weak](const log_position&) {
    if (auto s = weak.lock()) s->kick();
  });
  return self;
}

commit_version_waiter::commit_version_waiter(asio::any_io_executor ex,
                                             std::shared_ptr<pg_pool> storage,
                                             std::shared_ptr<log_listener> changes)
    : ex_(ex), storage_(std::move(storage)), changes_(std::move(changes)), retry_(ex) {}

void commit_version_waiter::stop() {
  stopped_ = true;
  retry_.cancel();
  for (auto* w : waiters_) w->timer->cancel();
}

std::optional<protocol::lsn> commit_version_waiter::high() const noexcept {
  if (changes_->position().epoch == 0) return std::nullopt;
  return changes_->position().high;
}

asio::awaitable<std::optional<protocol::lsn>> commit_version_waiter::async_wait(
    std::uint32_t xid, protocol::lsn after, std::chrono::steady_clock::time_point deadline) {
  if (stopped_) co_return std::nullopt;
  auto self = shared_from_this();
  {
    std::lock_guard lock(decoded_mutex_);
    if (auto v = recently_decoded(xid, after)) co_return v;
    awaited_.insert(xid);
  }
  asio::steady_timer timer(ex_, deadline);
  waiter w{xid, after, std::nullopt, &timer};
  waiters_.push_back(&w);
  // Every log commit notifies, and each notification scans; only a transaction stored
  // between our COMMIT and now (the log already advanced past `after`) needs a scan of its own.
  if (auto h = high(); h && *h > after) kick();
  (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  waiters_.remove(&w);
  {
    std::lock_guard lock(decoded_mutex_);
    awaited_.erase(awaited_.find(xid));
  }
  co_return w.found;
}

void commit_version_waiter::decoded(std::uint32_t xid, protocol::lsn commit) {
  {
    std::lock_guard lock(decoded_mutex_);
    recent_[recent_next_] = {xid, commit};
    recent_next_ = (recent_next_ + 1) % recent_capacity;
    if (!awaited_.contains(xid)) return;
  }
  std::weak_ptr<commit_version_waiter> weak = shared_from_this();
  asio::post(ex_, [weak, xid, commit] {
    if (auto s = weak.lock()) s->found(xid, commit);
  });
}

// Under decoded_mutex_. Newest first: xids wrap around, and `after` tells an older
// transaction with the same xid apart.
std::optional<protocol::lsn> commit_version_waiter::recently_decoded(std::uint32_t xid,
                                                                     protocol::lsn after) const {
  for (std::size_t i = 0; i < recent_capacity; ++i) {
    const auto& d = recent_[(recent_next_ + recent_capacity - 1 - i) % recent_capacity];
    if (d.xid == xid && d.commit > after) return d.commit;
  }
  return std::nullopt;
}

void commit_version_waiter::found(std::uint32_t xid, protocol::lsn commit) {
  for (auto* w : waiters_) {
    if (w->xid == xid && commit > w->after && !w->found) {
      w->found = commit;
      w->timer->cancel();
    }
  }
}

void commit_version_waiter::kick() {
  if (waiters_.empty() || stopped_) return;
  if (scanning_) {
    rescan_ = true;
    return;
  }
  scanning_ = true;
  spawn_logged(ex_, scan_loop(), "commit version waiter");
}

asio::awaitable<void> commit_version_waiter::scan_loop() {
  auto self = shared_from_this();
  do {
    rescan_ = false;
    if (waiters_.empty() || stopped_) break;
    protocol::lsn after = waiters_.front()->after;
    std::vector<std::uint32_t> xids;
    for (const auto* w : waiters_) {
      after = std::min(after, w->after);
      xids.push_back(w->xid);
    }
    auto st = log_versions_statement(after, protocol::lsn(std::numeric_limits<std::uint64_t>::max()), xids);
    auto r = co_await storage_->async_query(st.sql, st.params);
    if (!r) {
      spdlog::debug("commit versions: {}", r.error().to_string());
      // Again shortly, while anyone waits (each waiter's deadline bounds it): no further
      // notification may come to trigger the read this one was for.
      retry_.expires_after(retry_delay);
      (void)co_await retry_.async_wait(asio::as_tuple(asio::use_awaitable));
      rescan_ = true;
      continue;
    }
    auto versions = read_log_versions(*r);
    if (!versions) break;
    // Waiters may have timed out while the query ran: match against those still here.
    for (const auto& v : *versions) found(v.xid, v.version);
  } while (rescan_);
  scanning_ = false;
}

}  // namespace fieldsync::storage
