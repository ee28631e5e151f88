// GET /v1/shape: the ElectricSQL Shape HTTP API as the published @electric-sql/client
// (1.5.x) uses it, on top of fieldsync's snapshots and change log. docs/protocol.md,
// "Shape API", lists what is supported; server/shape_offset.hpp how offsets and handles map
// onto snapshots and cursors.

#include "protocol/json_parse.hpp"
#include "protocol/pg_array_text.hpp"
#include "protocol/value_json.hpp"
#include "server/pull/changes_query.hpp"
#include "server/net/http_body.hpp"
#include "server/pull/pull_routes.hpp"
#include "server/pull/pull_service.hpp"
#include "server/pull/shape_offset.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <chrono>
#include <map>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

constexpr std::string_view exposed_headers =
    "electric-cursor, electric-handle, electric-offset, electric-schema, electric-up-to-date, "
    "etag, retry-after";

// Browsers may read the answer (and its electric-* headers) from any origin: access is
// decided by the bearer token, not by cookies.
http_response with_cors(http_response res) {
  res.set(http::field::access_control_allow_origin, "*");
  res.set(http::field::access_control_expose_headers, exposed_headers);
  return res;
}

http_response shape_error(const http_request& req, http::status status, std::string_view code,
                          std::string_view message) {
  return with_cors(error_response(req, status, code, message));
}

http_response shape_parameter_error(const http_request& req, const request_error& e) {
  return with_cors(parameter_error(req, e.code, e.message, e.parameter, e.position));
}

// "public.items", "\"public\".\"items\"", "items" (a collection name, or a table in any
// schema): the collection it names.
const collection_access* find_table(const collection_registry& reg, std::string_view table) {
  auto unquote = [](std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return std::string(s);
  };
  std::size_t dot = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i] == '"') quoted = !quoted;
    if (table[i] == '.' && !quoted) {
      dot = i;
      break;
    }
  }
  if (dot != std::string_view::npos) {
    auto schema = unquote(table.substr(0, dot));
    auto name = unquote(table.substr(dot + 1));
    for (const auto& c : reg.all()) {
      if (c.schema.schema_name == schema && c.schema.table_name == name) return &c;
    }
    return nullptr;
  }
  auto name = unquote(table);
  if (const auto* c = reg.find(name)) return c;
  for (const auto& c : reg.all()) {
    if (c.schema.table_name == name) return &c;
  }
  return nullptr;
}

// $n of an Electric where clause arrive as PostgreSQL text (params[1]=..., params[2]=...).
// A filter takes JSON values of the column's kind, so each one is read as the type of the
// column it is compared with; a parameter with no column beside it stays a string.
void collect_param_columns(const protocol::filter_node& n, const protocol::checked_filter& f,
                           std::map<std::uint32_t, std::pair<protocol::column_type, bool>>& out) {
  if (!n.operands.empty() && n.operands.front().is_column() &&
      n.operands.front().column < f.columns.size()) {
    const auto& type = f.columns[n.operands.front().column].type;
    for (std::size_t i = 1; i < n.operands.size(); ++i) {
      const auto& o = n.operands[i];
      if (o.k == protocol::filter_operand::kind::param) {
        out.emplace(o.param, std::make_pair(type, n.k == protocol::filter_node::kind::any));
      }
    }
  }
  for (const auto& c : n.children) collect_param_columns(c, f, out);
}

request_result<protocol::bound_filter> bind_shape_where(
    const protocol::collection_schema& schema, const std::string& where,
    const std::map<std::uint32_t, std::string>& texts, const boost::json::object& claims,
    const protocol::filter_limits& limits) {
  auto checked = protocol::prepare_filter(where, schema, limits);
  if (!checked) {
    const auto& e = checked.error();
    return request_error{protocol::filter_errc_name(e.code), "where: " + e.to_string(), "where",
                         e.position};
  }
  std::map<std::uint32_t, std::pair<protocol::column_type, bool>> columns;
  collect_param_columns(checked->ast.root, *checked, columns);
  json::array params;
  for (std::uint32_t n = 1; n <= checked->ast.max_param; ++n) {
    auto t = texts.find(n);
    if (t == texts.end()) {
      return request_error{"filter_missing_parameter",
                           "params[" + std::to_string(n) + "]: $" + std::to_string(n) +
                               " is used in where but not given",
                           "params[" + std::to_string(n) + "]",
                           {}};
    }
    auto c = columns.find(n);
    if (c == columns.end()) {
      params.push_back(json::string(t->second));
      continue;
    }
    auto v = c->second.second ? protocol::array_text_to_json(c->second.first, t->second)
                              : protocol::text_to_json(c->second.first, t->second);
    if (!v) {
      return request_error{"bad_params",
                           "params[" + std::to_string(n) + "]: \"" + t->second + "\" is not a " +
                               std::string(c->second.first.name) +
                               (c->second.second ? " array" : ""),
                           "params[" + std::to_string(n) + "]",
                           {}};
    }
    params.push_back(std::move(*v));
  }
  auto bound = protocol::bind_filter(*checked, params, claims);
  if (!bound) {
    const auto& e = bound.error();
    return request_error{protocol::filter_errc_name(e.code), "where: " + e.to_string(), "where",
                         e.position};
  }
  return std::move(*bound);
}

// columns=id,name or "id","name": the selected columns, which must include the key.
request_result<std::vector<const protocol::column_schema*>> parse_columns(
    const protocol::collection_schema& schema, const std::string* text) {
  std::vector<const protocol::column_schema*> out;
  if (!text) {
    for (const auto& c : schema.columns) out.push_back(&c);
    return out;
  }
  std::size_t i = 0;
  while (i < text->size()) {
    std::string name;
    if ((*text)[i] == '"') {
      ++i;
      while (i < text->size()) {
        if ((*text)[i] == '"') {
          if (i + 1 < text->size() && (*text)[i + 1] == '"') {
            name += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        name += (*text)[i++];
      }
    } else {
      while (i < text->size() && (*text)[i] != ',') {
        char c = (*text)[i++];
        name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      }
    }
    while (i < text->size() && (*text)[i] == ' ') ++i;
    if (i < text->size() && (*text)[i] == ',') ++i;
    while (i < text->size() && (*text)[i] == ' ') ++i;
    const auto* c = schema.find(name);
    if (!c) {
      return request_error{
          "unknown_column",
          "columns: unknown column \"" + name + "\" in collection \"" + schema.name + "\"",
          "columns",
          {}};
    }
    out.push_back(c);
  }
  for (const auto& pk : schema.primary_key) {
    bool found = false;
    for (const auto* c : out) found = found || c->name == pk;
    if (!found) {
      return request_error{"bad_columns",
                           "columns: must include the primary key column \"" + pk + "\"",
                           "columns",
                           {}};
    }
  }
  return out;
}

std::string schema_header(const protocol::collection_schema& schema,
                          const std::vector<const protocol::column_schema*>& columns) {
  json::object out;
  for (const auto* c : columns) {
    std::string type(c->type.name);
    json::object info;
    if (type.size() > 2 && type.ends_with("[]")) {
      info["type"] = type.substr(0, type.size() - 2);
      info["dims"] = 1;
    } else {
      info["type"] = type;
    }
    for (std::size_t i = 0; i < schema.primary_key.size(); ++i) {
      if (schema.primary_key[i] == c->name) info["pk_index"] = i;
    }
    if (c->not_null) info["not_null"] = true;
    out[c->name] = std::move(info);
  }
  return json::serialize(out);
}

// A column value as PostgreSQL prints it, which is what Electric messages carry.
json::value pg_text(const protocol::column_schema& c, const json::value& v) {
  if (v.is_null()) return nullptr;
  auto text = protocol::json_to_text(c.type, v);
  if (text) return json::string(*text);
  if (v.is_string()) return v;
  return json::string(json::serialize(v));
}

struct shape_request {
  const collection_access* collection = nullptr;
  std::vector<const protocol::column_schema*> columns;
  std::uint64_t definition = 0;
};

std::string message_key(const shape_request& s, const json::object& row) {
  const auto& schema = s.collection->schema;
  std::string key = "\"" + schema.schema_name + "\".\"" + schema.table_name + "\"";
  for (const auto& pk : schema.primary_key) {
    key += "/\"";
    const auto* col = schema.find(pk);
    const auto* v = row.if_contains(pk);
    if (col && v) {
      auto t = pg_text(*col, *v);
      if (t.is_string()) {
        for (char ch : t.get_string()) {
          if (ch == '"') key += '"';
          key += ch;
        }
      }
    }
    key += '"';
  }
  return key;
}

std::string message_json(const shape_request& s, const pull_item& item, bool snapshot) {
  auto parsed = protocol::parse_json_exact(item.row_json, protocol::max_stored_row_depth);
  json::object row = parsed && parsed->is_object() ? std::move(parsed->as_object()) : json::object{};
  json::object value;
  for (const auto* c : s.columns) {
    if (!item.upsert) {
      bool is_pk = false;
      for (const auto& pk : s.collection->schema.primary_key) is_pk = is_pk || pk == c->name;
      if (!is_pk) continue;
    }
    const auto* v = row.if_contains(c->name);
    value[c->name] = v ? pg_text(*c, *v) : json::value();
  }
  const char* op = !item.upsert                           ? "delete"
                   : (snapshot || !item.inside_at_cursor) ? "insert"
                                                          : "update";
  json::object headers{{"operation", op},
                       {"relation", json::array{json::string(s.collection->schema.schema_name),
                                                json::string(s.collection->schema.table_name)}}};
  if (!snapshot) {
    headers["lsn"] = std::to_string(item.version.value());
    headers["op_position"] = item.idx;
    headers["txids"] = json::array{item.xid};
  }
  json::object msg{
      {"key", message_key(s, row)}, {"value", std::move(value)}, {"headers", std::move(headers)}};
  return json::serialize(msg);
}

std::string up_to_date_json(protocol::lsn high) {
  return "{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"" +
         std::to_string(high.value()) + "\"}}";
}

// The live cache buster: changes every 20 s, and always differs from the one the client
// sent, so that no cache between us answers a long-poll with an old answer.
std::string next_live_cursor(const std::string* sent) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  long long c = now / 20;
  if (sent) {
    long long prev = 0;
    auto [end, ec] = std::from_chars(sent->data(), sent->data() + sent->size(), prev);
    if (ec == std::errc() && end == sent->data() + sent->size() && prev >= c) c = prev + 1;
  }
  return std::to_string(c);
}

http_response must_refetch(const http_request& req, const shape_handle& fresh) {
  http_response res{http::status::conflict, req.version()};
  res.set(http::field::server, "fieldsync");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("electric-handle", fresh.to_string());
  res.keep_alive(req.keep_alive());
  res.body() = "[{\"headers\":{\"control\":\"must-refetch\"}}]";
  res.prepare_payload();
  return with_cors(std::move(res));
}

// params[1], params[2], ... of the query: the texts by number.
request_result<std::map<std::uint32_t, std::string>> where_params(const query_params& q) {
  std::map<std::uint32_t, std::string> texts;
  for (const auto& [k, v] : q) {
    if (!k.starts_with("params[") || !k.ends_with("]")) continue;
    std::uint32_t n = 0;
    auto digits = std::string_view(k).substr(7, k.size() - 8);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n == 0 || n > 1000) {
      return request_error{"bad_params", k + ": expected params[1], params[2], ...", k, {}};
    }
    texts[n] = v;
  }
  return texts;
}

// The answer instead of a page that could not be read: the database's error, 503 while
// the log or the collection is not ready or the log is catching up to the offset,
// must-refetch for a position it cannot resume.
std::optional<http_response> refusal(const http_request& req, const shape_request& s,
                                     const storage::pg_outcome<pull_page>& p) {
  if (!p) return with_cors(pull_service::database_error(req, p.error()));
  if (p->verdict == storage::cursor_verdict::no_log ||
      p->verdict == storage::cursor_verdict::not_loaded ||
      p->verdict == storage::cursor_verdict::failed ||
      p->verdict == storage::cursor_verdict::ahead) {
    return with_cors(pull_service::reset_response(req, p->verdict));
  }
  if (p->verdict != storage::cursor_verdict::ok) {
    return must_refetch(req, shape_handle{p->bounds.epoch, p->bounds.high, s.definition});
  }
  return std::nullopt;
}

// One answer's rows and where the client goes on from.
struct shape_page {
  pull_page page;
  shape_handle handle;
  shape_offset offset;
  bool up_to_date = false;
  bool snapshot = false;
};

// The page an offset asks for: the log's head (`now`), a snapshot chunk (-1 or a snapshot
// offset), or the changes after a log offset, waiting for one when `live`.
awaitable<std::variant<shape_page, http_response>> read_shape_page(
    pull_service& svc, const http_request& req, const pull_filter& filter, const shape_request& s,
    const shape_offset& offset, const std::optional<shape_handle>& handle, bool live,
    std::chrono::steady_clock::time_point now, storage::log_position seen) {
  const auto chunk = svc.cfg().shape_chunk_rows;
  shape_page out;
  if (offset.k == shape_offset::kind::now) {
    auto b = co_await svc.async_bounds(filter);
    if (!b) co_return with_cors(pull_service::database_error(req, b.error()));
    if (!*b)
      co_return with_cors(pull_service::reset_response(req, storage::cursor_verdict::no_log));
    out.handle = {(*b)->epoch, (*b)->high, s.definition};
    out.offset = shape_offset::after(protocol::cursor{(*b)->epoch, (*b)->high});
    out.page.bounds = **b;
    out.up_to_date = true;
  } else if (offset.k == shape_offset::kind::before_all ||
             offset.k == shape_offset::kind::snapshot) {
    out.snapshot = true;
    std::optional<snapshot_position> from;
    std::size_t skip = 0;
    if (offset.k == shape_offset::kind::snapshot) {
      from = snapshot_position{handle->epoch, handle->as_of, {}};
      skip = offset.rows;
    }
    auto p = co_await svc.async_snapshot_page(filter, from, chunk, skip);
    if (auto refused = refusal(req, s, p)) co_return std::move(*refused);
    out.page = std::move(*p);
    if (from) {
      out.handle = *handle;
    } else {
      out.handle = {out.page.bounds.epoch, storage::snapshot_position(out.page.bounds), s.definition};
    }
    if (out.page.has_more) {
      out.offset = shape_offset::snapshot_rows(skip + out.page.items.size());
    } else {
      out.offset = shape_offset::after(protocol::cursor{out.handle.epoch, out.handle.as_of});
      out.up_to_date = true;
    }
  } else {
    out.handle = *handle;
    protocol::cursor after{handle->epoch, offset.lsn, offset.index};
    auto p = co_await svc.async_changes_page(filter, after, chunk);
    if (auto refused = refusal(req, s, p)) co_return std::move(*refused);
    out.page = std::move(*p);
    if (live && out.page.items.empty() && !out.page.has_more) {
      auto deadline = now + svc.cfg().long_poll_timeout;
      auto waited = co_await svc.async_long_poll(filter, std::move(out.page), chunk, seen, deadline);
      if (auto refused = refusal(req, s, waited)) co_return std::move(*refused);
      out.page = std::move(*waited);
    }
    out.offset = shape_offset::after(std::get<protocol::cursor>(out.page.next));
    out.up_to_date = !out.page.has_more;
  }
  co_return out;
}

// The answer's body (the messages, then up-to-date when the client is) and its headers.
std::shared_ptr<prepared_body> shape_answer(const shape_request& s, const shape_page& read,
                                            bool live, const std::string* sent_cursor) {
  std::string body = "[";
  bool first = true;
  for (const auto& item : read.page.items) {
    if (!first) body += ',';
    first = false;
    body += message_json(s, item, read.snapshot);
  }
  if (read.up_to_date) {
    if (!first) body += ',';
    body += up_to_date_json(read.page.bounds.high);
  }
  body += "]";
  auto prepared = prepare_body("application/json", std::move(body));
  prepared->headers.emplace_back("electric-handle", read.handle.to_string());
  prepared->headers.emplace_back("electric-offset", read.offset.to_string());
  if (live) {
    prepared->headers.emplace_back("electric-cursor", next_live_cursor(sent_cursor));
  } else {
    prepared->headers.emplace_back("electric-schema",
                                   schema_header(s.collection->schema, s.columns));
  }
  if (read.up_to_date) prepared->headers.emplace_back("electric-up-to-date", "true");
  return prepared;
}

awaitable<http_response> shape(pull_service& svc, request_context& ctx) {
  const auto& req = ctx.request;
  auto parsed = parse_query(ctx.query);
  if (!parsed) {
    co_return shape_parameter_error(
        req, {"bad_query",
              "the query string has a malformed %-escape or a value that is not UTF-8 text",
              "",
              {}});
  }
  const auto& q = *parsed;
  const std::string* table = find_param(q, "table");
  if (!table || table->empty()) {
    co_return shape_parameter_error(req, {"missing_parameter", "table: required", "table", {}});
  }
  const auto* c = find_table(svc.collections(), *table);
  if (!c) {
    co_return shape_error(req, http::status::not_found, "unknown_collection",
                          "table: no synced table or collection named " + *table);
  }
  auto resolved = svc.caller(req, c->schema.name);
  if (auto* res = std::get_if<http_response>(&resolved)) co_return with_cors(std::move(*res));
  auto& [who, filter] = std::get<pull_caller>(resolved);
  const auto& caller = *who;

  const std::string* offset_text = find_param(q, "offset");
  if (!offset_text) {
    co_return shape_parameter_error(
        req, {"missing_parameter", "offset: required (-1 to start)", "offset", {}});
  }
  auto offset = shape_offset::parse(*offset_text);
  if (!offset) {
    co_return shape_parameter_error(
        req,
        {"bad_offset", "offset: expected -1, now or an offset this server gave out", "offset", {}});
  }
  bool live = false;
  if (const auto* l = find_param(q, "live")) {
    auto b = parse_flag(*l);
    if (!b)
      co_return shape_parameter_error(req,
                                      {"bad_live", "live: expected true or false", "live", {}});
    live = *b;
  }
  auto param_texts = where_params(q);
  if (!param_texts) co_return shape_parameter_error(req, param_texts.error());
  std::string params_canon;
  for (const auto& [n, v] : *param_texts) params_canon += std::to_string(n) + "=" + v + "\x1e";
  const std::string* where = find_param(q, "where");
  if (where && !where->empty()) {
    auto bound =
        bind_shape_where(c->schema, *where, *param_texts, caller.claims, svc.filter_limits());
    if (!bound) co_return shape_parameter_error(req, bound.error());
    filter.set_where(std::move(*bound));
  }
  shape_request s;
  s.collection = c;
  const std::string* columns_text = find_param(q, "columns");
  auto columns = parse_columns(c->schema, columns_text);
  if (!columns) co_return shape_parameter_error(req, columns.error());
  s.columns = std::move(*columns);
  s.definition = shape_definition_hash(c->schema.name, where ? *where : "", params_canon,
                                       columns_text ? *columns_text : "");

  std::optional<shape_handle> handle;
  if (const auto* h = find_param(q, "handle"); h && !h->empty()) {
    handle = shape_handle::parse(*h);
    if (!handle && offset->k != shape_offset::kind::before_all) {
      co_return shape_parameter_error(
          req, {"bad_handle", "handle: not a handle this server gave out", "handle", {}});
    }
  }
  bool needs_handle =
      offset->k == shape_offset::kind::snapshot || offset->k == shape_offset::kind::log;
  if (needs_handle && !handle) {
    co_return shape_parameter_error(
        req, {"missing_parameter", "handle: required with this offset", "handle", {}});
  }
  if (live && offset->k != shape_offset::kind::log) {
    co_return shape_parameter_error(
        req, {"bad_live", "live: only after the snapshot (an offset of the log)", "live", {}});
  }
  if (needs_handle && handle->definition != s.definition) {
    // Another shape under this handle: start over.
    auto b = co_await svc.async_bounds(filter);
    if (!b) co_return with_cors(pull_service::database_error(req, b.error()));
    if (!*b)
      co_return with_cors(pull_service::reset_response(req, storage::cursor_verdict::no_log));
    co_return must_refetch(req, shape_handle{(*b)->epoch, (*b)->high, s.definition});
  }

  std::optional<pull_service::poll_ticket> ticket;
  if (live && !svc.admit_long_poll(caller.subject, ticket)) {
    co_return with_cors(pull_service::too_many_polls(req));
  }
  auto& watch = svc.watch();
  const auto& cfg = svc.cfg();
  auto now = std::chrono::steady_clock::now();
  std::string key;
  std::optional<pull_service::computation> flight;
  if (!live && offset->k != shape_offset::kind::before_all &&
      offset->k != shape_offset::kind::now && cfg.cache_bytes > 0 && cfg.cache_ttl.count() > 0) {
    key = "shape\x1f" + c->schema.name + "\x1f" + filter.identity + "\x1f" + handle->to_string() +
          "\x1f" + offset->to_string() + "\x1f" + std::to_string(s.definition);
    if (auto cached = co_await svc.async_cached_or_claim(key, flight))
      co_return with_cors(serve_body(req, *cached));
    now = std::chrono::steady_clock::now();
  }
  auto generation = watch.generation();
  auto seen = watch.position();

  auto read = co_await read_shape_page(svc, req, filter, s, *offset, handle, live, now, seen);
  if (live) {
    if (auto refused = svc.revoked_while_waiting(req, caller))
      co_return with_cors(std::move(*refused));
  }
  if (auto* refused = std::get_if<http_response>(&read)) co_return std::move(*refused);
  auto prepared = shape_answer(s, std::get<shape_page>(read), live, find_param(q, "cursor"));
  if (!key.empty()) svc.cache().put(key, generation, now, prepared);
  auto res = serve_body(req, *prepared, live ? "private, no-store" : "private, no-cache");
  co_return with_cors(std::move(res));
}

awaitable<http_response> preflight(request_context& ctx) {
  const auto& req = ctx.request;
  http_response res{http::status::no_content, req.version()};
  res.set(http::field::server, "fieldsync");
  res.set(http::field::access_control_allow_origin, "*");
  res.set(http::field::access_control_allow_methods, "GET, HEAD, OPTIONS");
  auto asked = req.find(http::field::access_control_request_headers);
  res.set(http::field::access_control_allow_headers,
          asked != req.end() ? std::string(asked->value())
                             : std::string("Authorization, Content-Type, If-None-Match"));
  res.set(http::field::access_control_max_age, "86400");
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  co_return res;
}

}  // namespace

void add_shape_routes(router& r, std::shared_ptr<pull_service> svc) {
  r.add(http::verb::get, "/v1/shape", [svc](request_context& ctx) { return shape(*svc, ctx); });
  r.add(http::verb::options, "/v1/shape", [](request_context& ctx) { return preflight(ctx); });
}

}  // namespace fieldsync::server
