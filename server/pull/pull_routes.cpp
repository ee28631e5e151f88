// GET /v1/collections, GET /v1/collections/{name}/changes and
// GET /v1/collections/{name}/rows/{key}/history (docs/protocol.md, "Delta pulls").

#include "server/pull/pull_routes.hpp"
#include "protocol/json_parse.hpp"
#include "server/pull/changes_query.hpp"
#include "server/net/http_body.hpp"
#include "server/pull/pull_service.hpp"
#include "storage/pull_reader.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

bool wants_ndjson(const http_request& req) {
  auto it = req.find(http::field::accept);
  return it != req.end() && it->value().find("application/x-ndjson") != std::string_view::npos;
}

// A row the change log stored, read exactly (Boost.JSON's own parser rounds some doubles).
json::value parse_or_null(std::string_view text) {
  auto v = protocol::parse_json_exact(text, protocol::max_stored_row_depth);
  return v ? std::move(*v) : json::value();
}

std::string cache_key(std::string_view route, const pull_filter& f, const changes_query& q,
                      bool ndjson) {
  std::string key(route);
  key += '\x1f';
  key += f.collection->schema.name;
  key += '\x1f';
  key += f.identity;
  key += '\x1f';
  key += q.position ? to_string(*q.position) : std::string("-");
  key += '\x1f';
  key += std::to_string(q.limit);
  key += ndjson ? "\x1fn" : "\x1fj";
  return key;
}

// The whole snapshot in one streamed answer, one JSON object per line, read in one
// REPEATABLE READ transaction through a server-side cursor (storage::snapshot_stream); the
// last line carries the cursor to continue from. Memory stays at one batch of rows whatever
// the size.
awaitable<http_response> stream_snapshot(pull_service& svc, request_context& ctx,
                                         const pull_filter& filter) {
  const auto& req = ctx.request;
  auto conn = co_await svc.storage_pool().async_acquire();
  if (!conn) co_return pull_service::database_error(req, conn.error());
  auto [where_sql, params] = filter.sql(1);
  storage::snapshot_stream reader(**conn, filter.collection->schema.name, where_sql, params);
  auto bounds = co_await reader.async_begin();
  if (!bounds) {
    co_await reader.async_end(false);
    co_return pull_service::database_error(req, bounds.error());
  }
  if (!*bounds || !(*bounds)->loaded) {
    co_await reader.async_end();
    co_return pull_service::reset_response(
        req, !*bounds                          ? storage::cursor_verdict::no_log
             : (*bounds)->failure.empty() ? storage::cursor_verdict::not_loaded
                                          : storage::cursor_verdict::failed);
  }
  bool gz = accepts_gzip(req);
  http::response_header<> header;
  header.result(http::status::ok);
  header.version(req.version());
  header.set(http::field::server, "fieldsync");
  header.set(http::field::content_type, "application/x-ndjson");
  header.set(http::field::cache_control, "private, no-store");
  header.set(http::field::vary, "Authorization, Accept-Encoding");
  if (gz) header.set(http::field::content_encoding, "gzip");
  if (!req.keep_alive()) header.set(http::field::connection, "close");
  auto& out = *ctx.stream;
  gzip_stream zip;
  auto send = [&](std::string_view data) -> awaitable<bool> {
    if (!gz) co_return co_await out.async_write(data);
    auto z = zip.push(data);
    co_return co_await out.async_write(z);
  };
  bool ok = co_await out.async_begin(std::move(header));
  std::string chunk;
  bool failed = false;
  while (ok) {
    auto rows = co_await reader.async_next(5000);
    if (!rows) {
      failed = true;
      break;
    }
    if (rows->empty()) break;
    chunk.clear();
    for (auto& r : *rows) {
      chunk += "{\"op\":\"upsert\",\"key\":";
      chunk += json::serialize(json::string_view(r.key));
      chunk += ",\"version\":\"";
      chunk += r.version.to_string();
      chunk += "\",\"row\":";
      chunk += r.row_json;
      chunk += "}\n";
    }
    ok = co_await send(chunk);
  }
  co_await reader.async_end(!failed);
  if (!ok) co_return http_response{};
  if (failed) {
    // Too late for a status code: the last line says what happened.
    chunk =
        "{\"error\":{\"code\":\"database_unavailable\",\"message\":\"the snapshot was "
        "interrupted; start again\"}}\n";
  } else {
    pull_page last;
    last.next = protocol::cursor{(*bounds)->epoch, storage::snapshot_position(**bounds)};
    chunk = changes_ndjson(last);
  }
  ok = co_await send(chunk);
  if (ok && gz) ok = co_await out.async_write(zip.finish());
  if (ok) (void)co_await out.async_end();
  co_return http_response{};
}

awaitable<http_response> changes(pull_service& svc, request_context& ctx) {
  const auto& req = ctx.request;
  auto resolved = svc.caller(req, ctx.param("name"));
  if (auto* res = std::get_if<http_response>(&resolved)) co_return std::move(*res);
  auto& [who, filter] = std::get<pull_caller>(resolved);
  const auto& caller = *who;

  auto parsed = parse_query(ctx.query);
  if (!parsed) {
    co_return parameter_error(
        req, "bad_query",
        "the query string has a malformed %-escape or a value that is not UTF-8 text", "",
        std::nullopt);
  }
  const auto& cfg = svc.cfg();
  pull_limits limits;
  limits.max_limit = cfg.max_limit;
  limits.default_limit = std::min(cfg.default_limit, limits.max_limit);
  auto q = parse_changes_query(*parsed, limits);
  if (!q) {
    const auto& e = q.error();
    co_return parameter_error(req, e.code, e.message, e.parameter, e.position);
  }
  if (q->where) {
    auto bound = bind_where(filter.collection->schema, *q->where, q->params, caller.claims,
                            svc.filter_limits());
    if (!bound) {
      const auto& e = bound.error();
      co_return parameter_error(req, e.code, e.message, e.parameter, e.position);
    }
    filter.set_where(std::move(*bound));
  }
  bool ndjson = wants_ndjson(req);
  if (!q->position && ndjson && ctx.stream) co_return co_await stream_snapshot(svc, ctx, filter);
  std::optional<pull_service::poll_ticket> ticket;
  if (q->live && !svc.admit_long_poll(caller.subject, ticket)) {
    co_return pull_service::too_many_polls(req);
  }

  auto& watch = svc.watch();
  auto now = std::chrono::steady_clock::now();
  std::string key;
  std::optional<pull_service::computation> flight;
  if (!q->live && cfg.cache_bytes > 0 && cfg.cache_ttl.count() > 0) {
    key = cache_key("changes", filter, *q, ndjson);
    if (auto cached = co_await svc.async_cached_or_claim(key, flight))
      co_return serve_body(req, *cached);
    now = std::chrono::steady_clock::now();
  }
  auto generation = watch.generation();
  auto seen = watch.position();

  // `f`, not `filter`: clang before 16 cannot capture a structured binding (clang-tidy).
  auto page_from =
      [&, &f = filter](
          const std::optional<pull_position>& from) -> awaitable<storage::pg_outcome<pull_page>> {
    if (!from) co_return co_await svc.async_snapshot_page(f, std::nullopt, q->limit);
    if (const auto* s = std::get_if<snapshot_position>(&*from)) {
      co_return co_await svc.async_snapshot_page(f, *s, q->limit);
    }
    co_return co_await svc.async_changes_page(f, std::get<protocol::cursor>(*from), q->limit);
  };
  auto page = co_await page_from(q->position);
  if (!page) co_return pull_service::database_error(req, page.error());
  if (page->verdict != storage::cursor_verdict::ok) {
    co_return pull_service::reset_response(req, page->verdict);
  }
  if (q->live && !page->snapshot && page->items.empty() && !page->has_more) {
    // Nothing new for this caller: wait for the log to move, look again, until something
    // matches or the long-poll ends (then an empty page with the advanced cursor).
    auto deadline = now + cfg.long_poll_timeout;
    page = co_await svc.async_long_poll(filter, std::move(*page), q->limit, seen, deadline);
    if (auto refused = svc.revoked_while_waiting(req, caller)) co_return std::move(*refused);
    if (!page) co_return pull_service::database_error(req, page.error());
    if (page->verdict != storage::cursor_verdict::ok) {
      co_return pull_service::reset_response(req, page->verdict);
    }
  }
  auto body = prepare_body(
      ndjson ? "application/x-ndjson" : "application/json",
      ndjson ? changes_ndjson(*page) : changes_json(filter.collection->schema.name, *page));
  if (!key.empty()) svc.cache().put(key, generation, now, body);
  co_return serve_body(req, *body);
}

awaitable<http_response> list_collections(pull_service& svc, request_context& ctx) {
  const auto& req = ctx.request;
  auto who = svc.authenticate(req);
  if (auto* res = std::get_if<http_response>(&who)) co_return std::move(*res);
  const auto& caller = std::get<principal>(who);
  json::array out;
  for (const auto& c : svc.collections().all()) {
    if (!bind_read_scope(c, caller)) continue;
    json::array columns;
    for (const auto& col : c.schema.columns) {
      columns.push_back(
          json::object{{"name", col.name}, {"type", col.type.name}, {"not_null", col.not_null}});
    }
    json::array pk;
    for (const auto& k : c.schema.primary_key) pk.push_back(json::string(k));
    out.push_back(json::object{
        {"name", c.schema.name}, {"primary_key", std::move(pk)}, {"columns", std::move(columns)}});
  }
  auto body = prepare_body("application/json",
                           json::serialize(json::object{{"collections", std::move(out)}}) + "\n");
  co_return serve_body(req, *body);
}

awaitable<http_response> row_history(pull_service& svc, request_context& ctx) {
  const auto& req = ctx.request;
  auto resolved = svc.caller(req, ctx.param("name"));
  if (auto* res = std::get_if<http_response>(&resolved)) co_return std::move(*res);
  auto& filter = std::get<pull_caller>(resolved).filter;
  auto parsed = parse_query(ctx.query);
  if (!parsed) {
    co_return parameter_error(
        req, "bad_query",
        "the query string has a malformed %-escape or a value that is not UTF-8 text", "",
        std::nullopt);
  }
  std::size_t limit = 100;
  const auto max_limit = static_cast<std::size_t>(svc.cfg().max_limit);
  for (const auto& [k, v] : *parsed) {
    if (k != "limit") {
      co_return parameter_error(req, "unknown_parameter",
                                "unknown query parameter " + k + " (known: limit)", k,
                                std::nullopt);
    }
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
    if (ec != std::errc() || end != v.data() + v.size() || limit == 0 || limit > max_limit) {
      co_return parameter_error(req, "bad_limit",
                                "limit: expected an integer from 1 to " + std::to_string(max_limit),
                                "limit", std::nullopt);
    }
  }
  std::string key(ctx.param("key"));
  auto conn = co_await svc.storage_pool().async_acquire();
  if (!conn) co_return pull_service::database_error(req, conn.error());
  auto history =
      co_await storage::async_row_history(**conn, filter.collection->schema.name, key, limit);
  if (!history) co_return pull_service::database_error(req, history.error());

  // Only the versions the caller may read: a row that moved between territories shows each
  // rep the part of its history that was theirs.
  auto readable = [&](const json::value& row) {
    return row.is_object() && protocol::matches(*filter.scope, row.as_object());
  };
  json::value current;  // null
  if (history->current) {
    auto row = parse_or_null(history->current->row_json);
    if (readable(row)) {
      json::object c{{"version", history->current->version.to_string()},
                     {"deleted", history->current->deleted},
                     {"changed_at", history->current->changed_at}};
      if (!history->current->deleted) c["row"] = std::move(row);
      if (history->current->client_id) {
        c["origin"] = json::object{{"client_id", *history->current->client_id},
                                   {"mutation_id", history->current->mutation_id.value_or(0)}};
      } else {
        c["origin"] = nullptr;
      }
      current = std::move(c);
    }
  }
  json::array versions;
  for (auto& v : history->versions) {
    auto row = parse_or_null(v.row_json);
    if (!readable(row)) continue;
    json::array changed;
    for (auto& c : v.changed) changed.push_back(json::string(c));
    json::object o{{"version", v.version.to_string()},
                   {"op", protocol::to_string(v.op)},
                   {"commit_time", v.commit_time},
                   {"changed", std::move(changed)}};
    if (v.op == protocol::change_op::remove)
      o["old_row"] = std::move(row);
    else
      o["row"] = std::move(row);
    if (v.origin) {
      o["origin"] = json::object{{"client_id", v.origin->client_id},
                                 {"mutation_id", v.origin->mutation_id},
                                 {"client_ts", v.origin->client_ts}};
    } else {
      o["origin"] = nullptr;
    }
    versions.push_back(std::move(o));
  }
  if (current.is_null() && versions.empty()) {
    co_return error_response(req, http::status::not_found, "not_found",
                             "no row with key \"" + key + "\" in collection \"" +
                                 filter.collection->schema.name + "\" that you may read");
  }
  json::object out{{"collection", filter.collection->schema.name},
                   {"key", key},
                   {"current", std::move(current)},
                   {"versions", std::move(versions)},
                   {"has_more", history->more}};
  auto body = prepare_body("application/json", json::serialize(out) + "\n");
  co_return serve_body(req, *body);
}

}  // namespace

void add_pull_routes(router& r, std::shared_ptr<pull_service> svc) {
  r.add(http::verb::get, "/v1/collections",
        [svc](request_context& ctx) { return list_collections(*svc, ctx); });
  r.add(http::verb::get, "/v1/collections/{name}/changes",
        [svc](request_context& ctx) { return changes(*svc, ctx); });
  r.add(http::verb::get, "/v1/collections/{name}/rows/{key}/history",
        [svc](request_context& ctx) { return row_history(*svc, ctx); });
}

}  // namespace fieldsync::server
