#include "storage/mutation_sql.hpp"

#include "protocol/json_parse.hpp"
#include "protocol/row_key.hpp"
#include "protocol/value_json.hpp"
#include "storage/source_catalog.hpp"
#include "storage/sql_quote.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>

namespace fieldsync::storage {

namespace json = boost::json;

namespace {

pg_error bad_result(std::string message) {
  return pg_error{make_error_code(pg_errc::unexpected_result), {}, std::move(message)};
}

template <typename T>
std::optional<T> number(std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<std::uint32_t> xid_of(std::string_view text) {
  auto v = number<std::uint64_t>(text);
  if (!v || *v > 0xFFFFFFFFull) return std::nullopt;
  return static_cast<std::uint32_t>(*v);
}

// Bookkeeping values go as one jsonb parameter: JSON does the escaping of keys that
// contain quotes and brackets (composite keys), which a text[] literal would need by hand.
std::string json_text(const json::value& v) { return json::serialize(v); }

// A text[] literal: every element double-quoted, with '"' and '\' escaped. Sent as a
// parameter like any value; `= ANY($n::text[])` lets the planner probe the primary key
// once per element, where an IN over a set-returning function would scan.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string key_condition(const protocol::collection_schema& schema, int first_param) {
  std::string out;
  int p = first_param;
  for (const auto& column : schema.primary_key) {
    if (!out.empty()) out += " AND ";
    out += quote_identifier(column) + " = $" + std::to_string(p++);
  }
  return out;
}

// A statement whose text repeats from batch to batch (the same tables, columns and
// number of keys), so the session prepares it (pg_statement::preparable).
pg_statement preparable(std::string sql, pg_params params) {
  return {std::move(sql), std::move(params), true};
}

constexpr std::string_view own_xid = "(pg_current_xact_id()::text::bigint % 4294967296)";

}  // namespace

pg_statement begin_statement() { return preparable("BEGIN", {}); }

pg_statement lock_timeout_statement(std::chrono::milliseconds timeout) {
  return preparable("SELECT set_config('lock_timeout', $1, true)",
                    pg_params(std::to_string(timeout.count()) + "ms"));
}

pg_statement create_client_statement(const std::string& client_id, const std::string& subject,
                                     std::int64_t max_per_subject,
                                     std::chrono::milliseconds retention) {
  // The deletes run only when this statement created the client (an uncorrelated EXISTS:
  // checked once), so a known client's batch pays nothing for them.
  return preparable(
      "WITH created AS (INSERT INTO fieldsync.mutation_clients (client_id, owner, last_mutation_id) "
      "VALUES ($1, $2, 0) ON CONFLICT (client_id) DO NOTHING RETURNING client_id), "
      "gone AS (DELETE FROM fieldsync.mutation_clients c WHERE EXISTS (SELECT 1 FROM created) AND ("
      "c.client_id IN (SELECT client_id FROM fieldsync.mutation_clients WHERE owner = $2 AND client_id <> $1 "
      "ORDER BY updated_at DESC, client_id OFFSET $3::bigint FOR UPDATE SKIP LOCKED) "
      "OR c.client_id IN (SELECT client_id FROM fieldsync.mutation_clients WHERE client_id <> $1 AND "
      "updated_at < now() - $4::bigint * interval '1 millisecond' LIMIT 16 FOR UPDATE SKIP LOCKED)) "
      "RETURNING c.client_id) "
      "DELETE FROM fieldsync.mutation_results r USING gone WHERE r.client_id = gone.client_id",
      pg_params(client_id, subject, std::max<std::int64_t>(0, max_per_subject - 1),
                static_cast<std::int64_t>(retention.count())));
}

pg_statement lock_client_statement(const std::string& client_id) {
  return preparable(
      "SELECT owner, last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = $1 FOR UPDATE",
      pg_params(client_id));
}

pg_outcome<client_state> read_client(const pg_result& r) {
  if (r.rows() != 1 || r.columns() != 2) return bad_result("client row: unexpected shape");
  auto last = number<std::int64_t>(r.value(0, 1));
  if (!last) return bad_result("client row: bad last_mutation_id");
  return client_state{std::string(r.value(0, 0)), *last};
}

pg_statement stored_results_statement(const std::string& client_id, std::int64_t first,
                                      std::int64_t last) {
  return preparable(
      "SELECT r.mutation_id, r.result, r.collection, r.key, CASE WHEN r.wrote THEN m.xid END "
      "FROM fieldsync.mutation_results m, jsonb_to_recordset(m.results) AS r(mutation_id bigint, "
      "result jsonb, collection text, key text, wrote boolean) "
      "WHERE m.client_id = $1 AND m.last_id >= $2::bigint AND m.first_id <= $3::bigint "
      "AND r.mutation_id BETWEEN $2::bigint AND $3::bigint ORDER BY r.mutation_id",
      pg_params(client_id, first, last));
}

pg_outcome<std::vector<stored_result>> read_stored_results(const pg_result& r) {
  std::vector<stored_result> out;
  for (int i = 0; i < r.rows(); ++i) {
    stored_result s;
    auto id = number<std::int64_t>(r.value(i, 0));
    auto parsed = protocol::parse_json_exact(r.value(i, 1), 128);
    if (!id || !parsed || !parsed->is_object()) return bad_result("stored result: unexpected shape");
    s.mutation_id = *id;
    s.result = std::move(parsed->get_object());
    if (auto c = r.get(i, 2)) s.collection = std::string(*c);
    if (auto k = r.get(i, 3)) s.key = std::string(*k);
    if (auto x = r.get(i, 4)) s.xid = xid_of(*x);
    out.push_back(std::move(s));
  }
  return out;
}

std::size_t key_param_count(const protocol::collection_schema& schema,
                            const std::vector<std::vector<std::string>>& keys) {
  return schema.primary_key.size() == 1 ? keys.size() : keys.size() * schema.primary_key.size();
}

pg_statement read_rows_statement(const protocol::collection_schema& schema,
                                 const std::vector<std::vector<std::string>>& keys,
                                 bool commit_times) {
  auto st = lock_rows_statement(schema, keys, commit_times);
  constexpr std::string_view lock = " FOR UPDATE";
  st.sql.resize(st.sql.size() - lock.size());
  return st;
}

pg_statement lock_rows_statement(const protocol::collection_schema& schema,
                                 const std::vector<std::vector<std::string>>& keys,
                                 bool commit_times, const row_condition* only) {
  std::string sql = "SELECT xmin::text";
  sql += commit_times ? ", (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000)::bigint"
                      : ", NULL";
  for (const auto& c : schema.columns) sql += ", " + quote_identifier(c.name);
  sql += " FROM " + quoted_relation(schema) + " WHERE ";
  pg_params params;
  int p = 1;
  std::string columns;
  for (const auto& k : schema.primary_key) columns += (columns.empty() ? "" : ", ") + quote_identifier(k);
  if (schema.primary_key.size() == 1) {
    sql += columns + " IN (";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      sql += (i ? ", $" : "$") + std::to_string(p++);
      params.add(keys[i].front());
    }
    sql += ")";
  } else {
    sql += "(" + columns + ") IN (";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      sql += i ? ", (" : "(";
      for (std::size_t j = 0; j < keys[i].size(); ++j) {
        sql += (j ? ", $" : "$") + std::to_string(p++);
        params.add(keys[i][j]);
      }
      sql += ")";
    }
    sql += ")";
  }
  if (only) {
    sql += " AND " + only->sql;
    for (const auto& v : only->params) params.add(v);
  }
  sql += " ORDER BY " + columns + " FOR UPDATE";
  return preparable(std::move(sql), std::move(params));
}

pg_outcome<std::vector<locked_row>> read_locked_rows(const pg_result& r,
                                                     const protocol::collection_schema& schema,
                                                     bool commit_times) {
  std::vector<locked_row> out;
  if (r.rows() > 0 && r.columns() != static_cast<int>(schema.columns.size()) + 2) {
    return bad_result("locked rows of " + schema.name + ": unexpected shape");
  }
  for (int i = 0; i < r.rows(); ++i) {
    locked_row row;
    auto xmin = xid_of(r.value(i, 0));
    if (!xmin) return bad_result("locked rows: bad xmin");
    row.xmin = *xmin;
    if (commit_times && !r.is_null(i, 1)) row.commit_ms = number<std::int64_t>(r.value(i, 1));
    for (std::size_t c = 0; c < schema.columns.size(); ++c) {
      int col = static_cast<int>(c) + 2;
      const auto& column = schema.columns[c];
      if (r.is_null(i, col)) {
        row.row[column.name] = nullptr;
        continue;
      }
      auto v = protocol::text_to_json(column.type, r.value(i, col));
      if (!v) return bad_result("locked rows of " + schema.name + ": column " + column.name + " does not parse");
      row.row[column.name] = std::move(*v);
    }
    auto key = protocol::row_key(row.row, schema.primary_key);
    if (!key) return bad_result("locked rows of " + schema.name + ": no key");
    row.key = std::move(*key);
    out.push_back(std::move(row));
  }
  return out;
}

pg_statement clocks_statement(const std::string& collection, const std::vector<std::string>& keys) {
  return preparable(
      "SELECT key, xid, client_id, row_clock, field_clocks, deleted FROM fieldsync.row_clocks "
      "WHERE collection = $1 AND key = ANY($2::text[])",
      pg_params(collection, text_array(keys)));
}

pg_outcome<std::vector<stored_clocks>> read_clocks(const pg_result& r) {
  std::vector<stored_clocks> out;
  for (int i = 0; i < r.rows(); ++i) {
    stored_clocks c;
    c.key = std::string(r.value(i, 0));
    auto xid = xid_of(r.value(i, 1));
    auto fields = protocol::parse_json_exact(r.value(i, 4), 16);
    if (!xid || !fields || !fields->is_object()) return bad_result("row clocks: unexpected shape");
    c.xid = *xid;
    c.client_id = std::string(r.value(i, 2));
    if (auto rc = r.get(i, 3)) c.row_clock = std::string(*rc);
    c.field_clocks = std::move(fields->get_object());
    c.deleted = r.value(i, 5) == "t";
    out.push_back(std::move(c));
  }
  return out;
}

pg_statement log_rows_statement(const std::string& collection, const std::vector<std::string>& keys) {
  return preparable(
      "SELECT r.key, r.lsn::text, r.deleted, r.\"row\"::text, c.xid FROM fieldsync.rows r "
      "LEFT JOIN LATERAL (SELECT x.xid FROM fieldsync.changes x WHERE x.collection = r.collection "
      "AND x.key = r.key AND x.lsn = r.lsn ORDER BY x.lsn DESC, x.idx DESC LIMIT 1) c ON true "
      "WHERE r.collection = $1 AND r.key = ANY($2::text[])",
      pg_params(collection, text_array(keys)));
}

pg_outcome<std::vector<log_row>> read_log_rows(const pg_result& r) {
  std::vector<log_row> out;
  for (int i = 0; i < r.rows(); ++i) {
    log_row row;
    row.key = std::string(r.value(i, 0));
    auto version = protocol::lsn::parse(r.value(i, 1));
    auto parsed = protocol::parse_json_exact(r.value(i, 3), 128);
    if (!version || !parsed || !parsed->is_object()) return bad_result("log rows: unexpected shape");
    row.version = *version;
    row.deleted = r.value(i, 2) == "t";
    row.row = std::move(parsed->get_object());
    if (auto x = r.get(i, 4)) row.xid = xid_of(*x);
    out.push_back(std::move(row));
  }
  return out;
}

pg_statement log_high_statement() {
  return preparable("SELECT high_lsn::text FROM fieldsync.state", {});
}

pg_statement log_versions_statement(protocol::lsn after, protocol::lsn upto,
                                    const std::vector<std::uint32_t>& xids) {
  json::array x;
  for (auto v : xids) x.push_back(static_cast<std::int64_t>(v));
  return preparable(
      "SELECT DISTINCT xid, lsn::text FROM fieldsync.changes "
      "WHERE lsn > $1::pg_lsn AND lsn <= $2::pg_lsn "
      "AND xid IN (SELECT jsonb_array_elements_text($3::jsonb)::bigint)",
      pg_params(after.to_string(), upto.to_string(), json_text(x)));
}

pg_outcome<std::vector<xid_version>> read_log_versions(const pg_result& r) {
  std::vector<xid_version> out;
  for (int i = 0; i < r.rows(); ++i) {
    auto xid = xid_of(r.value(i, 0));
    auto version = protocol::lsn::parse(r.value(i, 1));
    if (!xid || !version) return bad_result("log versions: unexpected shape");
    out.push_back({*xid, *version});
  }
  return out;
}

pg_statement duplicate_versions_statement(const json::array& lookups) {
  return preparable(
      "SELECT d.i, (SELECT c.lsn::text FROM fieldsync.changes c WHERE c.collection = d.c "
      "AND c.key = d.k AND c.xid = d.x ORDER BY c.lsn DESC LIMIT 1) "
      "FROM jsonb_to_recordset($1::jsonb) AS d(i int, c text, k text, x bigint)",
      pg_params(json_text(lookups)));
}

pg_statement origin_statement(const std::string& client_id,
                              const std::vector<protocol::origin_write>& writes) {
  return preparable("SELECT pg_logical_emit_message(true, 'fieldsync', $1)",
                    pg_params(protocol::batch_origin_content(client_id, writes)));
}

pg_statement insert_row_statement(const protocol::collection_schema& schema,
                                  const column_values& values,
                                  const std::vector<std::string>& now_columns,
                                  const row_condition* check) {
  std::string columns;
  std::string value_exprs;  // the VALUES list: $n for client values, now() for server-set
  pg_params params;
  int p = 1;
  for (const auto& [name, text] : values) {
    columns += (columns.empty() ? "" : ", ") + quote_identifier(name);
    value_exprs += (value_exprs.empty() ? "$" : ", $") + std::to_string(p++);
    params.add(text);
  }
  for (const auto& name : now_columns) {
    columns += (columns.empty() ? "" : ", ") + quote_identifier(name);
    value_exprs += value_exprs.empty() ? "now()" : ", now()";
  }
  std::string sql = columns.empty() ? "INSERT INTO " + quoted_relation(schema) + " DEFAULT VALUES"
                                    : "INSERT INTO " + quoted_relation(schema) + " (" + columns +
                                          ") VALUES (" + value_exprs + ")";
  if (check) {
    // The check sees the row as stored: defaults, identity values and triggers applied.
    sql = "WITH ins AS (" + sql + " RETURNING *) SELECT fieldsync.require_write_scope(" +
          check->sql + ") FROM ins";
    for (const auto& v : check->params) params.add(v);
  }
  return preparable(std::move(sql), std::move(params));
}

pg_statement update_row_statement(const protocol::collection_schema& schema,
                                  const std::vector<std::string>& key, const column_values& values,
                                  const std::vector<std::string>& now_columns) {
  std::string sets;
  pg_params params;
  int p = 1;
  for (const auto& [name, text] : values) {
    sets += (sets.empty() ? "" : ", ") + quote_identifier(name) + " = $" + std::to_string(p++);
    params.add(text);
  }
  for (const auto& name : now_columns) {
    sets += (sets.empty() ? "" : ", ") + quote_identifier(name) + " = now()";
  }
  for (const auto& k : key) params.add(k);
  return preparable(
      "UPDATE " + quoted_relation(schema) + " SET " + sets + " WHERE " + key_condition(schema, p),
      std::move(params));
}

pg_statement delete_row_statement(const protocol::collection_schema& schema,
                                  const std::vector<std::string>& key) {
  pg_params params;
  for (const auto& k : key) params.add(k);
  return preparable("DELETE FROM " + quoted_relation(schema) + " WHERE " + key_condition(schema, 1),
                    std::move(params));
}

pg_statement upsert_clocks_statement(const json::array& clocks) {
  return preparable(
      "INSERT INTO fieldsync.row_clocks AS rc "
      "(collection, key, xid, client_id, row_clock, field_clocks, deleted, updated_at) "
      "SELECT x.collection, x.key, CASE WHEN x.own THEN " +
          std::string(own_xid) +
          " ELSE x.xid END, x.client_id, x.row_clock, coalesce(x.field_clocks, '{}'), x.deleted, now() "
          "FROM jsonb_to_recordset($1::jsonb) AS x(collection text, key text, own boolean, "
          "xid bigint, client_id text, row_clock text, field_clocks jsonb, deleted boolean) "
          "ON CONFLICT (collection, key) DO UPDATE SET xid = EXCLUDED.xid, "
          "client_id = EXCLUDED.client_id, row_clock = EXCLUDED.row_clock, "
          "field_clocks = EXCLUDED.field_clocks, deleted = EXCLUDED.deleted, "
          "updated_at = EXCLUDED.updated_at",
      pg_params(json_text(clocks)));
}

pg_statement insert_results_statement(const std::string& client_id, std::int64_t first_id,
                                      std::int64_t last_id, const json::array& results) {
  return preparable(
      "INSERT INTO fieldsync.mutation_results (client_id, first_id, last_id, results, xid) "
      "VALUES ($1, $2, $3, $4::jsonb, " +
          std::string(own_xid) + ")",
      pg_params(client_id, first_id, last_id, json_text(results)));
}

pg_statement insert_conflicts_statement(const std::string& client_id, const std::string& subject,
                                        const json::array& conflicts) {
  return preparable(
      "INSERT INTO fieldsync.conflicts "
      "(collection, key, client_id, mutation_id, subject, op, outcome, reason, row_policy, fields) "
      "SELECT x.collection, x.key, $1, x.mutation_id, $2, x.op, x.outcome, x.reason, "
      "x.row_policy, x.fields FROM jsonb_to_recordset($3::jsonb) AS x(collection text, "
      "key text, mutation_id bigint, op text, outcome text, reason text, row_policy text, "
      "fields jsonb)",
      pg_params(client_id, subject, json_text(conflicts)));
}

pg_statement advance_client_statement(const std::string& client_id, std::int64_t last_mutation_id) {
  return preparable(
      "UPDATE fieldsync.mutation_clients SET last_mutation_id = greatest(last_mutation_id, $2::bigint), "
      "updated_at = CASE WHEN updated_at < now() - interval '1 minute' THEN now() ELSE updated_at END "
      "WHERE client_id = $1",
      pg_params(client_id, last_mutation_id));
}

pg_statement prune_results_statement(const std::string& client_id, std::int64_t upto) {
  return preparable("DELETE FROM fieldsync.mutation_results WHERE client_id = $1 AND last_id <= $2",
                    pg_params(client_id, upto));
}

pg_statement current_xid_statement() { return preparable("SELECT " + std::string(own_xid), {}); }

pg_outcome<std::uint32_t> read_current_xid(const pg_result& r) {
  if (r.rows() != 1) return bad_result("current xid: unexpected shape");
  auto x = xid_of(r.value(0, 0));
  if (!x) return bad_result("current xid: unexpected value");
  return *x;
}

pg_statement commit_statement() { return preparable("COMMIT", {}); }

pg_statement list_conflicts_statement(std::int64_t before, std::int64_t limit,
                                      const std::string& collection, const std::string& client_id) {
  return preparable(
      "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "collection, key, client_id, mutation_id, subject, op, outcome, reason, row_policy, "
      "fields::text FROM fieldsync.conflicts "
      "WHERE ($1::bigint = 0 OR id < $1::bigint) AND ($3::text = '' OR collection = $3::text) "
      "AND ($4::text = '' OR client_id = $4::text) "
      "ORDER BY id DESC LIMIT $2",
      pg_params(before, limit, collection, client_id));
}

pg_outcome<json::array> read_conflicts(const pg_result& r) {
  json::array out;
  for (int i = 0; i < r.rows(); ++i) {
    auto id = number<std::int64_t>(r.value(i, 0));
    auto mid = number<std::int64_t>(r.value(i, 5));
    auto fields = protocol::parse_json_exact(r.value(i, 11), 128);
    if (!id || !mid || !fields) return bad_result("conflicts: unexpected shape");
    auto opt = [&](int col) -> json::value {
      if (r.is_null(i, col)) return nullptr;
      return json::value(std::string(r.value(i, col)));
    };
    out.push_back(json::object{
        {"id", *id},
        {"at", std::string(r.value(i, 1))},
        {"collection", std::string(r.value(i, 2))},
        {"key", std::string(r.value(i, 3))},
        {"client_id", std::string(r.value(i, 4))},
        {"mutation_id", *mid},
        {"subject", std::string(r.value(i, 6))},
        {"op", std::string(r.value(i, 7))},
        {"outcome", std::string(r.value(i, 8))},
        {"reason", opt(9)},
        {"row_policy", opt(10)},
        {"fields", std::move(*fields)},
    });
  }
  return out;
}

pg_statement prune_conflicts_statement(std::chrono::milliseconds retention) {
  return preparable(
      "DELETE FROM fieldsync.conflicts WHERE at < now() - $1::bigint * interval '1 millisecond'",
      pg_params(static_cast<std::int64_t>(retention.count())));
}

pg_statement prune_deleted_clocks_statement(std::chrono::milliseconds retention) {
  return preparable(
      "DELETE FROM fieldsync.row_clocks WHERE deleted AND "
      "updated_at < now() - $1::bigint * interval '1 millisecond'",
      pg_params(static_cast<std::int64_t>(retention.count())));
}

pg_statement prune_clients_statement(std::chrono::milliseconds retention, std::int64_t limit) {
  return preparable(
      "WITH gone AS (DELETE FROM fieldsync.mutation_clients WHERE client_id IN ("
      "SELECT client_id FROM fieldsync.mutation_clients "
      "WHERE updated_at < now() - $1::bigint * interval '1 millisecond' "
      "LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING client_id) "
      "DELETE FROM fieldsync.mutation_results r USING gone WHERE r.client_id = gone.client_id",
      pg_params(static_cast<std::int64_t>(retention.count()), limit));
}

}  // namespace fieldsync::storage
