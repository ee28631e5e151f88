#include "server/pull/pull_service.hpp"

#include "server/access/unauthorized.hpp"
#include "storage/log_sql.hpp"
#include "storage/pull_reader.hpp"
#include "storage/sqlstate.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;
using storage::cursor_verdict;
using storage::pg_outcome;

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += json::serialize(json::string_view(s));
}

}  // namespace

std::pair<std::string, std::vector<std::optional<std::string>>> pull_filter::sql(
    std::size_t offset) const {
  protocol::sql_params params;
  params.offset = offset;
  auto column = [](const protocol::column_schema& c) { return storage::log_column_sql(c); };
  std::string sql = protocol::compile_sql(*scope, column, params);
  if (where) sql += " AND " + protocol::compile_sql(*where, column, params);
  return {std::move(sql), std::move(params.values)};
}

namespace {

std::string identity_of(const protocol::bound_filter& f) {
  protocol::sql_params params;
  auto column = [](const protocol::column_schema& c) { return storage::log_column_sql(c); };
  std::string out = protocol::compile_sql(f, column, params);
  // Each value with its length: a client's value may hold any byte, and two different
  // lists of values must never make the same text (cache keys, shared long-poll reads).
  for (const auto& p : params.values) {
    out += '\x1e';
    if (!p) {
      out += 'n';
      continue;
    }
    out += std::to_string(p->size());
    out += ':';
    out += *p;
  }
  return out;
}

}  // namespace

void pull_filter::set_where(protocol::bound_filter w) {
  identity += '\x1d';
  identity += identity_of(w);
  where = std::move(w);
}

pull_service::pull_service(pull_dependencies deps, const pulls_config& cfg)
    : executor_(deps.executor),
      auth_(deps.auth),
      collections_(deps.collections),
      storage_pool_(std::move(deps.storage_pool)),
      cfg_(cfg),
      watch_(log_watch::create(executor_, std::move(deps.changes), storage_pool_)),
      long_poll_reads_(deps.long_poll_reads),
      cache_(cfg.cache_bytes, cfg.cache_ttl),
      epoch_(
          executor_, [this] { return async_read_epoch(); }, std::chrono::seconds(30)) {}

asio::awaitable<std::optional<std::string>> pull_service::async_read_epoch() {
  auto conn = co_await storage_pool_->async_acquire();
  if (!conn) co_return std::nullopt;
  auto state = co_await (*conn)->async_query("SELECT epoch FROM fieldsync.state");
  if (!state || state->rows() != 1) co_return std::nullopt;
  co_return std::string(state->value(0, 0));
}

void pull_service::stop() {
  watch_->stop();
}

pull_service::poll_ticket::~poll_ticket() {
  auto it = counts_->find(subject_);
  if (it != counts_->end() && --it->second == 0) counts_->erase(it);
}

bool pull_service::admit_long_poll(const std::string& subject, std::optional<poll_ticket>& ticket) {
  auto& n = (*polls_)[subject];
  if (n >= cfg_.max_long_polls_per_user) return false;
  ++n;
  ticket.emplace(polls_, subject);
  return true;
}

http_response pull_service::too_many_polls(const http_request& req) {
  auto res = error_response(req, http::status::too_many_requests, "too_many_polls",
                            "this user has pulls.max_long_polls_per_user live requests waiting "
                            "already: wait for one to answer");
  res.set(http::field::retry_after, "1");
  return res;
}

std::variant<principal, http_response> pull_service::authenticate(const http_request& req) const {
  auto it = req.find(http::field::authorization);
  std::string_view header = it == req.end() ? std::string_view{} : std::string_view(it->value());
  auto who = auth_.verify_header(header, std::chrono::system_clock::now());
  if (who) return std::move(*who);
  return unauthorized_response(req, who.error());
}

std::optional<http_response> pull_service::revoked_while_waiting(const http_request& req,
                                                                 const principal& who) const {
  if (auto failure = auth_.revoked(who, std::chrono::system_clock::now()))
    return unauthorized_response(req, *failure);
  return std::nullopt;
}

std::variant<pull_filter, http_response> pull_service::scope(const http_request& req,
                                                             std::string_view name,
                                                             const principal& who) const {
  const auto* c = collections_.find(name);
  if (!c) {
    return error_response(req, http::status::not_found, "unknown_collection",
                          "no collection named \"" + std::string(name) + "\"");
  }
  auto bound = bind_read_scope(*c, who);
  if (!bound) {
    return error_response(req, http::status::forbidden, bound.error().code, bound.error().message);
  }
  pull_filter f;
  f.collection = c;
  f.identity = identity_of(*bound);
  f.scope = std::make_shared<const protocol::bound_filter>(std::move(*bound));
  return f;
}

std::variant<pull_caller, http_response> pull_service::caller(const http_request& req,
                                                              std::string_view name) {
  auto it = req.find(http::field::authorization);
  std::string key = it == req.end() ? std::string() : std::string(it->value());
  key += '\n';
  key += name;
  auto now = std::chrono::system_clock::now();
  if (auto m = memo_.find(key); m != memo_.end()) {
    // A remembered token is still checked against the deny list: a revocation taken after
    // its first pull applies to its next one.
    if (auto failure = auth_.revoked(*m->second.who, now)) {
      memo_.erase(m);
      return unauthorized_response(req, *failure);
    }
    if (now < m->second.expires) return pull_caller{m->second.who, *m->second.filter};
    memo_.erase(m);
  }
  auto who = authenticate(req);
  if (auto* res = std::get_if<http_response>(&who)) return std::move(*res);
  auto shared = std::make_shared<const principal>(std::move(std::get<principal>(who)));
  auto scoped = scope(req, name, *shared);
  if (auto* res = std::get_if<http_response>(&scoped)) return std::move(*res);
  auto& filter = std::get<pull_filter>(scoped);
  // Bounded: a flood of distinct tokens only costs the verification they would cost anyway.
  if (memo_.size() >= 4096) memo_.clear();
  memo_[key] = memo{shared, filter, shared->usable_until};
  return pull_caller{std::move(shared), std::move(filter)};
}

asio::awaitable<bool> pull_service::async_claim(const std::string& key,
                                                std::chrono::steady_clock::time_point deadline) {
  auto it = in_flight_.find(key);
  if (it == in_flight_.end()) {
    in_flight_.emplace(key, std::vector<asio::steady_timer*>{});
    co_return true;
  }
  asio::steady_timer timer(executor_, deadline);
  it->second.push_back(&timer);
  (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  // done() removed the entry (and this timer with it) unless the wait timed out.
  if (auto again = in_flight_.find(key); again != in_flight_.end()) {
    auto& v = again->second;
    v.erase(std::remove(v.begin(), v.end(), &timer), v.end());
  }
  co_return false;
}

asio::awaitable<std::shared_ptr<const prepared_body>> pull_service::async_cached_or_claim(
    std::string& key, std::optional<computation>& claim) {
  {
    // The generation below moves only when the notification of a change arrives, which
    // may be after the client saw a new epoch committed: the epoch itself is read here,
    // by a read that starts after this request arrived (shared with the requests around it).
    auto epoch = co_await epoch_.async_read();
    if (!epoch) {
      key.clear();
      co_return nullptr;
    }
    key += "\x1f" + *epoch;
  }
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (auto hit = cache_.find(key, watch_->generation(), now)) co_return hit;
    if (in_flight_.contains(key)) {
      if (auto stale = cache_.find_stale(key, watch_->generation())) co_return stale;
    }
    if (co_await async_claim(key, now + std::chrono::seconds(30))) {
      claim.emplace(*this, key);
      co_return nullptr;
    }
  }
}

void pull_service::done(const std::string& key) {
  auto it = in_flight_.find(key);
  if (it == in_flight_.end()) return;
  auto waiters = std::move(it->second);
  in_flight_.erase(it);
  for (auto* t : waiters) t->cancel();
}

http_response pull_service::database_error(const http_request& req, const storage::pg_error& e) {
  using storage::pg_errc;
  const auto& code = e.code;
  bool unavailable = code == pg_errc::connection_failed || code == pg_errc::connection_lost ||
                     code == pg_errc::connect_timeout || code == pg_errc::pool_closed ||
                     code == pg_errc::pool_queue_full || code == pg_errc::pool_timeout ||
                     code == pg_errc::operation_timeout ||
                     // a lock held over database.lock_timeout_ms: retry
                     e.sqlstate == storage::sqlstate::lock_not_available ||
                     // admin shutdown, cannot connect now, too many connections
                     e.sqlstate.starts_with("57P") || e.sqlstate.starts_with("08") ||
                     e.sqlstate == storage::sqlstate::too_many_connections;
  if (e.sqlstate == storage::sqlstate::query_canceled) {
    auto res = error_response(req, http::status::service_unavailable, "query_timeout",
                              "the request took longer than the server allows "
                              "(database.statement_timeout_ms): narrow it or try again");
    res.set(http::field::retry_after, "5");
    return res;
  }
  // A value of the request the database refuses (data exception: a malformed key, an
  // out-of-range number) is the client's, never a server error.
  if (e.sqlstate.starts_with("22")) {
    spdlog::debug("pull: refused input: {}", e.to_string());
    return error_response(req, http::status::bad_request, "bad_request",
                          "a value of the request is not valid for the collection (a key of "
                          "the wrong type or out of range)");
  }
  if (unavailable) {
    auto res = error_response(req, http::status::service_unavailable, "database_unavailable",
                              "the database cannot be reached; try again");
    res.set(http::field::retry_after, "5");
    return res;
  }
  spdlog::warn("pull: {}", e.to_string());
  return error_response(req, http::status::internal_server_error, "internal_error",
                        "the database answered with an error");
}

http_response pull_service::reset_response(const http_request& req, cursor_verdict v) {
  if (v == cursor_verdict::failed) {
    // Not the client's doing and not over by itself: the operator has it in the log.
    auto res = error_response(req, http::status::service_unavailable, "collection_failed",
                              "the collection could not be copied into the change log (the "
                              "server's log says why); it is unavailable until that is fixed");
    res.set(http::field::retry_after, "60");
    return res;
  }
  if (v == cursor_verdict::no_log || v == cursor_verdict::not_loaded) {
    auto res = v == cursor_verdict::no_log
                   ? error_response(req, http::status::service_unavailable, "log_not_ready",
                                    "the change log is not ready yet; try again")
                   : error_response(req, http::status::service_unavailable, "collection_loading",
                                    "the collection is being copied into the change log; try again");
    res.set(http::field::retry_after, "1");
    return res;
  }
  if (v == cursor_verdict::ahead) {
    // Of a batch a restart of the storage database took away, which the log writes again
    // with the same positions (docs/protocol.md, "Catching up"): the cursor resumes then.
    auto res = error_response(req, http::status::service_unavailable, "log_catching_up",
                              "the cursor is ahead of the change log, which is writing again "
                              "what a restart of its database took away; try again (a cursor "
                              "this log did not give out never resumes: start without one)");
    res.set(http::field::retry_after, "1");
    return res;
  }
  std::string why;
  switch (v) {
    case cursor_verdict::other_epoch:
      why = "history was lost since this cursor was given out";
      break;
    case cursor_verdict::before_horizon:
      why = "the cursor is older than the log's retention";
      break;
    case cursor_verdict::before_load:
      why = "the collection was loaded again since";
      break;
    default:
      why = "the cursor cannot resume";
      break;
  }
  json::object err{{"code", "reset"},
                   {"message", why + ": start again without a cursor (a new snapshot)"},
                   {"reason", storage::to_string(v)}};
  auto res =
      json_response(req, http::status::conflict, {{"error", std::move(err)}, {"reset", true}});
  return res;
}

asio::awaitable<pg_outcome<pull_page>> pull_service::async_changes_page(
    const pull_filter& filter, const protocol::cursor& after, std::size_t limit) {
  const auto& name = filter.collection->schema.name;
  auto conn = co_await storage_pool_->async_acquire();
  if (!conn) co_return conn.error();
  auto bounds = co_await storage::async_begin_read(**conn, name);
  if (!bounds) co_return bounds.error();
  pull_page page;
  if (!*bounds) {
    page.verdict = cursor_verdict::no_log;
    co_return page;
  }
  page.bounds = **bounds;
  page.verdict = storage::check_cursor(page.bounds, after);
  if (page.verdict != cursor_verdict::ok) {
    co_await storage::async_end_read(**conn, true);
    co_return page;
  }
  delta_builder builder(*filter.scope, filter.where ? &*filter.where : nullptr, limit,
                        cfg_.max_page_bytes);
  const std::size_t batch = std::clamp<std::size_t>(limit * 2, 100, 2000);
  const auto max_scan = cfg_.max_scan_changes;
  protocol::cursor pos = after;
  std::size_t scanned = 0;
  bool full = false;
  std::optional<storage::log_change> refused;
  for (;;) {
    auto changes =
        co_await storage::async_read_changes(**conn, pos, page.bounds.high, batch, &name);
    if (!changes) {
      co_await storage::async_end_read(**conn, false);
      co_return changes.error();
    }
    for (auto& c : *changes) {
      if (scanned >= max_scan || !builder.add(c)) {
        refused = std::move(c);
        full = true;
        break;
      }
      ++scanned;
    }
    if (full || changes->size() < batch) break;
    const auto& last = changes->back();
    pos = protocol::cursor{after.epoch, last.position, last.idx};
  }
  co_await storage::async_end_read(**conn, true);
  if (full) {
    page.next =
        cursor_after(page.bounds.epoch, *builder.last_taken(), refused ? &*refused : nullptr);
    page.has_more = true;
  } else {
    // Caught up: continue from where a snapshot read now would (never below the cursor).
    page.next = protocol::cursor{page.bounds.epoch, storage::snapshot_position(page.bounds)};
  }
  for (auto& e : builder.finish()) {
    pull_item item;
    item.upsert = e.upsert;
    item.inside_at_cursor = e.inside_at_cursor;
    item.key = std::move(e.latest.change.key);
    item.version = e.latest.position;
    item.idx = e.latest.idx;
    item.xid = e.latest.xid;
    if (e.upsert) {
      item.row_json = std::move(e.row_json);
    } else {
      // A delete names the row by its key columns, never by values the caller may not read
      // (the row may have moved out of the caller's scope).
      json::object pk;
      for (const auto& k : filter.collection->schema.primary_key) {
        if (const auto* v = e.latest.change.row.if_contains(k)) pk[k] = *v;
      }
      item.row_json = json::serialize(pk);
    }
    page.items.push_back(std::move(item));
  }
  co_return page;
}

asio::awaitable<pg_outcome<pull_page>> pull_service::async_long_poll(
    const pull_filter& filter, pull_page page, std::size_t limit, storage::log_position seen,
    std::chrono::steady_clock::time_point deadline) {
  const auto& name = filter.collection->schema.name;
  for (;;) {
    co_await watch_->async_wait_change(name, seen, deadline);
    if (std::chrono::steady_clock::now() >= deadline || watch_->stopped()) break;
    seen = watch_->position();
    auto again = co_await async_shared_changes_page(filter, std::get<protocol::cursor>(page.next),
                                                    limit, seen);
    if (!again) co_return again.error();
    if (again->verdict != cursor_verdict::ok) co_return again;
    page = std::move(*again);
    if (!page.items.empty() || page.has_more) co_return page;
  }
  // Nothing came. The page's position is of the epoch the last read saw; the listener may
  // have missed the notification of a newer one (a reconnect, a reset at the last moment):
  // one look at the bounds, so that the answer is never a position the log cannot resume.
  auto bounds = co_await async_bounds(filter);
  if (!bounds) co_return bounds.error();
  if (!*bounds) {
    page.verdict = cursor_verdict::no_log;
    co_return page;
  }
  page.verdict = storage::check_cursor(**bounds, std::get<protocol::cursor>(page.next));
  if (page.verdict != cursor_verdict::ok) page.bounds = **bounds;
  co_return page;
}

asio::awaitable<pg_outcome<pull_page>> pull_service::async_shared_changes_page(
    const pull_filter& filter, const protocol::cursor& after, std::size_t limit,
    const storage::log_position& seen) {
  // The position is part of the key: a poll woken by a later advance must not take the
  // answer of a read that began before that advance's change was visible.
  std::string key = filter.collection->schema.name;
  key += '\x1f';
  key += filter.identity;
  key += '\x1f';
  key += after.to_string();
  key += '\x1f';
  key += std::to_string(limit);
  key += '\x1f';
  key += std::to_string(seen.epoch);
  key += '/';
  key += seen.high.to_string();
  if (auto it = shared_reads_.find(key); it != shared_reads_.end()) {
    auto read = it->second;
    asio::steady_timer timer(executor_, asio::steady_timer::time_point::max());
    read->waiters.push_back(&timer);
    // Leaves the reader's list on every way out (the reader cancels what is listed).
    struct unlist {
      shared_read& r;
      asio::steady_timer* t;
      ~unlist() {
        r.waiters.erase(std::remove(r.waiters.begin(), r.waiters.end(), t), r.waiters.end());
      }
    } guard{*read, &timer};
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (read->result) co_return *read->result;
    // The reader ended without an answer (shutdown): read alone.
    co_return co_await async_changes_page(filter, after, limit);
  }
  auto read = std::make_shared<shared_read>();
  shared_reads_.emplace(key, read);
  // Publishes on every way out: the key is free again and the waiters wake (with the
  // answer when there is one).
  struct publish {
    pull_service& self;
    const std::string& key;
    shared_read& r;
    ~publish() {
      self.shared_reads_.erase(key);
      for (auto* t : r.waiters) t->cancel();
    }
  } guard{*this, key, *read};
  if (long_poll_reads_) long_poll_reads_->add();
  auto page = co_await async_changes_page(filter, after, limit);
  if (!read->waiters.empty()) read->result = page;
  co_return page;
}

asio::awaitable<pg_outcome<std::optional<storage::log_bounds>>> pull_service::async_bounds(
    const pull_filter& filter) {
  auto conn = co_await storage_pool_->async_acquire();
  if (!conn) co_return conn.error();
  co_return co_await storage::async_log_bounds(**conn, filter.collection->schema.name);
}

asio::awaitable<pg_outcome<pull_page>> pull_service::async_snapshot_page(
    const pull_filter& filter, std::optional<snapshot_position> from, std::size_t limit,
    std::size_t skip) {
  const auto& name = filter.collection->schema.name;
  auto conn = co_await storage_pool_->async_acquire();
  if (!conn) co_return conn.error();
  auto bounds = co_await storage::async_begin_read(**conn, name);
  if (!bounds) co_return bounds.error();
  pull_page page;
  page.snapshot = true;
  if (!*bounds) {
    page.verdict = cursor_verdict::no_log;
    co_return page;
  }
  page.bounds = **bounds;
  storage::snapshot_page_request req;
  req.collection = name;
  std::int64_t epoch = page.bounds.epoch;
  req.as_of = storage::snapshot_position(page.bounds);
  if (!from && !page.bounds.loaded) {
    // The collection is still being copied into the log (or its copy failed): an empty
    // snapshot would be wrong.
    page.verdict = page.bounds.failure.empty() ? cursor_verdict::not_loaded : cursor_verdict::failed;
    co_await storage::async_end_read(**conn, true);
    co_return page;
  }
  if (from) {
    page.verdict = storage::check_cursor(page.bounds, protocol::cursor{from->epoch, from->as_of});
    if (page.verdict != cursor_verdict::ok) {
      co_await storage::async_end_read(**conn, true);
      co_return page;
    }
    epoch = from->epoch;
    req.as_of = from->as_of;
    if (!from->after_key.empty()) req.after_key = from->after_key;
  }
  req.skip = skip;
  req.limit = limit + 1;
  std::tie(req.where_sql, req.params) = filter.sql(3);
  auto rows = co_await storage::async_snapshot_page_as_of(**conn, req);
  if (!rows) {
    co_await storage::async_end_read(**conn, false);
    co_return rows.error();
  }
  co_await storage::async_end_read(**conn, true);
  std::size_t bytes = 0;
  const auto max_bytes = cfg_.max_page_bytes;
  for (auto& r : *rows) {
    if (page.items.size() == limit) break;
    if (!page.items.empty() && bytes + r.row_json.size() > max_bytes) break;
    bytes += r.row_json.size() + r.key.size() + 64;
    pull_item item;
    item.key = std::move(r.key);
    item.version = r.version;
    item.row_json = std::move(r.row_json);
    page.items.push_back(std::move(item));
  }
  page.has_more = page.items.size() < rows->size();
  if (page.has_more) {
    page.next = snapshot_position{epoch, req.as_of, page.items.back().key};
  } else {
    page.next = protocol::cursor{epoch, req.as_of};
  }
  co_return page;
}

std::string item_json(const pull_item& item) {
  std::string out = item.upsert ? "{\"op\":\"upsert\",\"key\":" : "{\"op\":\"delete\",\"key\":";
  append_json_string(out, item.key);
  out += ",\"version\":\"";
  out += item.version.to_string();
  out += '"';
  if (item.upsert) {
    out += ",\"row\":";
    out += item.row_json;
  }
  out += '}';
  return out;
}

std::string changes_json(std::string_view collection, const pull_page& page) {
  std::string out = "{\"collection\":";
  append_json_string(out, collection);
  out += page.snapshot ? ",\"snapshot\":true" : ",\"snapshot\":false";
  out += ",\"changes\":[";
  bool first = true;
  for (const auto& item : page.items) {
    if (!first) out += ',';
    first = false;
    out += item_json(item);
  }
  out += "],\"cursor\":";
  append_json_string(out, to_string(page.next));
  out += page.has_more ? ",\"has_more\":true}\n" : ",\"has_more\":false}\n";
  return out;
}

std::string changes_ndjson(const pull_page& page) {
  std::string out;
  for (const auto& item : page.items) {
    out += item_json(item);
    out += '\n';
  }
  out += "{\"cursor\":";
  append_json_string(out, to_string(page.next));
  out += page.has_more ? ",\"has_more\":true}\n" : ",\"has_more\":false}\n";
  return out;
}

}  // namespace fieldsync::server
