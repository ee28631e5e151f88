#include "server/access/revocation_store.hpp"

#include "server/access/token_time.hpp"
#include "storage/spawn_logged.hpp"
#include "storage/sqlstate.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace fieldsync::server {

namespace asio = boost::asio;
using storage::pg_outcome;
using storage::pg_params;

namespace {

// Times travel as microseconds since the epoch: exact, and no time zone to parse.
constexpr std::string_view columns =
    "kind, value, (extract(epoch FROM revoked_at) * 1000000)::bigint, "
    "(extract(epoch FROM until) * 1000000)::bigint";

std::int64_t micros_of(std::string_view text) {
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::optional<revocation> row_of(const storage::pg_result& r, int row) {
  auto kind = parse_revocation_kind(r.value(row, 0));
  if (!kind) return std::nullopt;
  revocation out;
  out.kind = *kind;
  out.value = std::string(r.value(row, 1));
  out.revoked_at = time_of_micros(micros_of(r.value(row, 2)));
  if (auto until = r.get(row, 3)) out.until = time_of_micros(micros_of(*until));
  return out;
}

}  // namespace

std::shared_ptr<revocation_store> revocation_store::create(
    asio::any_io_executor ex, std::shared_ptr<storage::pg_pool> storage,
    std::shared_ptr<deny_list> list, std::chrono::milliseconds refresh,
    std::function<void()> on_change) {
  return std::make_shared<revocation_store>(std::move(ex), std::move(storage), std::move(list),
                                            refresh, std::move(on_change));
}

revocation_store::revocation_store(asio::any_io_executor ex,
                                   std::shared_ptr<storage::pg_pool> storage,
                                   std::shared_ptr<deny_list> list,
                                   std::chrono::milliseconds refresh,
                                   std::function<void()> on_change)
    : ex_(std::move(ex)),
      storage_(std::move(storage)),
      list_(std::move(list)),
      refresh_(refresh),
      on_change_(std::move(on_change)) {}

void revocation_store::start() {
  auto timer = std::make_shared<asio::steady_timer>(ex_);
  timer_ = timer;
  storage::spawn_logged(ex_, run(std::move(timer)), "revocation refresh");
}

void revocation_store::stop() {
  stopped_ = true;
  if (auto timer = timer_.lock()) timer->cancel();
}

asio::awaitable<void> revocation_store::run(std::shared_ptr<asio::steady_timer> timer) {
  auto self = shared_from_this();
  while (!stopped_) {
    timer->expires_after(refresh_);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopped_) co_return;
    auto r = co_await async_refresh();
    // The last good copy stays in force meanwhile; the next refresh tries again.
    if (!r) spdlog::warn("revocations: cannot reread the deny list: {}", r.error().to_string());
  }
}

asio::awaitable<pg_outcome<void>> revocation_store::async_refresh() {
  const auto read_at = list_->generation();
  // The DELETE and the SELECT see the same snapshot, so the SELECT skips lapsed entries
  // itself.
  auto r = co_await storage_->async_query(
      "WITH pruned AS (DELETE FROM fieldsync.revocations WHERE until <= now()) "
      "SELECT " +
          std::string(columns) +
          " FROM fieldsync.revocations WHERE until IS NULL OR until > now() "
          "ORDER BY revoked_at DESC LIMIT $1",
      pg_params(static_cast<std::int64_t>(max_revocations)));
  if (!r) {
    // 42P01: no schema yet (the ingest creates it): nothing is revoked.
    if (r.error().sqlstate != storage::sqlstate::undefined_table) co_return r.error();
    r = storage::pg_result{};
  }
  std::vector<revocation> all;
  all.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    if (auto one = row_of(*r, i)) all.push_back(std::move(*one));
  }
  if (list_->replace(std::move(all), read_at) && on_change_) on_change_();
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<revocation>> revocation_store::async_put(revocation_kind kind,
                                                                    std::string value,
                                                                    revocation_until until) {
  pg_params params(to_string(kind), value);
  params.add(until.text);
  if (until.seconds) {
    params.add(*until.seconds);
  } else {
    params.add(std::nullopt);
  }
  auto r = co_await storage_->async_query(
      "INSERT INTO fieldsync.revocations (kind, value, until) "
      "VALUES ($1, $2, coalesce($3::timestamptz, to_timestamp($4::bigint))) "
      "ON CONFLICT (kind, value) DO UPDATE SET revoked_at = clock_timestamp(), until = EXCLUDED.until "
      "RETURNING " +
          std::string(columns),
      params);
  if (!r) co_return r.error();
  auto stored = r->rows() == 1 ? row_of(*r, 0) : std::nullopt;
  if (!stored) {
    co_return storage::pg_error{make_error_code(storage::pg_errc::unexpected_result),
                                {},
                                "the revocation was not returned"};
  }
  list_->put(*stored);
  co_return *stored;
}

asio::awaitable<pg_outcome<bool>> revocation_store::async_lift(revocation_kind kind,
                                                               std::string value) {
  auto r = co_await storage_->async_query(
      "DELETE FROM fieldsync.revocations WHERE kind = $1 AND value = $2",
      pg_params(to_string(kind), value));
  if (!r) co_return r.error();
  list_->lift(kind, value);
  co_return r->affected_rows() > 0;
}

}  // namespace fieldsync::server
