// GET /v1/collections/{name}/digest?cursor=C[&where=...&params=[...]]: the state check.
// Same token, read scope, filter and cursor checks as the delta pull of the collection
// (server/pull_routes.cpp): a cursor that cannot resume gets the pull's 409 reset, a log
// not ready its 503. The digest is of the rows at C (storage/state_digest.hpp).

#include "server/pull/digest_routes.hpp"

#include "server/pull/changes_query.hpp"
#include "server/net/http_body.hpp"
#include "server/pull/pull_service.hpp"
#include "storage/snapshot_reader.hpp"
#include "storage/state_digest.hpp"

#include <boost/json/object.hpp>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

awaitable<http_response> digest(pull_service& svc, request_context& ctx) {
  const auto& req = ctx.request;
  auto resolved = svc.caller(req, ctx.param("name"));
  if (auto* res = std::get_if<http_response>(&resolved)) co_return std::move(*res);
  auto& [who, filter] = std::get<pull_caller>(resolved);

  auto parsed = parse_query(ctx.query);
  if (!parsed) {
    co_return parameter_error(
        req, "bad_query",
        "the query string has a malformed %-escape or a value that is not UTF-8 text", "",
        std::nullopt);
  }
  for (const auto& [name, value] : *parsed) {
    if (name != "cursor" && name != "where" && name != "params") {
      co_return parameter_error(req, "unknown_parameter",
                                "unknown query parameter " + name + " (known: cursor, where, params)",
                                name, std::nullopt);
    }
  }
  auto q = parse_changes_query(*parsed, pull_limits{});
  if (!q) {
    const auto& e = q.error();
    co_return parameter_error(req, e.code, e.message, e.parameter, e.position);
  }
  const auto* at = q->position ? std::get_if<protocol::cursor>(&*q->position) : nullptr;
  if (!at) {
    co_return parameter_error(req, "bad_cursor",
                              q->position ? "cursor: a snapshot token is not a position in the "
                                            "log; read the snapshot to its end first"
                                          : "cursor: required (the position the digest is of)",
                              "cursor", std::nullopt);
  }
  if (q->where) {
    auto bound = bind_where(filter.collection->schema, *q->where, q->params, who->claims,
                            svc.filter_limits());
    if (!bound) {
      const auto& e = bound.error();
      co_return parameter_error(req, e.code, e.message, e.parameter, e.position);
    }
    filter.set_where(std::move(*bound));
  }

  const auto& name = filter.collection->schema.name;
  auto conn = co_await svc.storage_pool().async_acquire();
  if (!conn) co_return pull_service::database_error(req, conn.error());
  auto bounds = co_await storage::async_begin_read(**conn, name);
  if (!bounds) co_return pull_service::database_error(req, bounds.error());
  if (!*bounds) co_return pull_service::reset_response(req, storage::cursor_verdict::no_log);
  auto verdict = storage::check_cursor(**bounds, *at);
  if (verdict != storage::cursor_verdict::ok) {
    co_await storage::async_end_read(**conn, true);
    co_return pull_service::reset_response(req, verdict);
  }
  storage::state_digest_request request;
  request.collection = name;
  request.at = *at;
  std::tie(request.where_sql, request.params) = filter.sql(3);
  auto result = co_await storage::async_state_digest(**conn, request);
  co_await storage::async_end_read(**conn, result.has_value());
  if (!result) co_return pull_service::database_error(req, result.error());
  co_return json_response(req, http::status::ok,
                          json::object{{"collection", name},
                                       {"cursor", at->to_string()},
                                       {"rows", result->rows()},
                                       {"digest", result->hex()}});
}

}  // namespace

void add_digest_route(router& r, std::shared_ptr<pull_service> svc) {
  r.add(http::verb::get, "/v1/collections/{name}/digest",
        [svc](request_context& ctx) { return digest(*svc, ctx); });
}

}  // namespace fieldsync::server
