#include "storage/source_catalog.hpp"
#include "storage/malformed_array.hpp"

#include "protocol/pg_array_text.hpp"

#include <algorithm>
#include <set>

namespace fieldsync::storage {

namespace asio = boost::asio;

namespace {

pg_error mismatch(const collection_spec& spec, const std::string& what) {
  return pg_error{make_error_code(pg_errc::unexpected_result), {},
                  "collection " + spec.name + ": " + what};
}

}  // namespace

std::string quoted_relation(const protocol::collection_schema& c) {
  return quote_identifier(c.schema_name) + "." + quote_identifier(c.table_name);
}

asio::awaitable<pg_outcome<std::vector<protocol::collection_schema>>> async_describe_collections(
    pg_connection& conn, const std::vector<collection_spec>& specs) {
  // Values travel as UTF-8 JSON, and the change log keeps them in jsonb: text in another
  // encoding (SQL_ASCII takes any bytes) could not be carried unchanged.
  auto encoding = co_await conn.async_query("SELECT current_setting('server_encoding')");
  if (!encoding) co_return encoding.error();
  if (encoding->value(0, 0) != "UTF8") {
    co_return pg_error{make_error_code(pg_errc::unexpected_result), {},
                       "the source database's encoding is " + std::string(encoding->value(0, 0)) +
                           ": fieldsync syncs UTF8 databases only (values must reach clients "
                           "unchanged)"};
  }
  std::vector<protocol::collection_schema> out;
  for (const auto& spec : specs) {
    protocol::collection_schema c;
    c.name = spec.name;
    std::string table = spec.table.empty() ? spec.name : spec.table;
    auto dot = table.find('.');
    c.schema_name = dot == std::string::npos ? "public" : table.substr(0, dot);
    c.table_name = dot == std::string::npos ? table : table.substr(dot + 1);

    auto cols = co_await conn.async_query(
        // A domain is described by its base type (what its values are printed as), through
        // domains of domains.
        "SELECT a.attname, "
        "       (WITH RECURSIVE d(oid, base) AS ("
        "          SELECT t.oid, t.typbasetype FROM pg_type t WHERE t.oid = a.atttypid "
        "          UNION ALL SELECT t.oid, t.typbasetype FROM pg_type t JOIN d ON t.oid = d.base"
        "        ) SELECT oid FROM d WHERE base = 0), "
        "       a.attnotnull, "
        "       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', "
        "       c.relkind, "
        "       (SELECT array_agg(k.attname ORDER BY k.attname) FROM pg_index i "
        "          JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY(i.indkey) "
        "         WHERE i.indrelid = c.oid AND i.indisprimary) "
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        " WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum",
        pg_params(c.schema_name, c.table_name));
    if (!cols) co_return cols.error();
    if (cols->rows() == 0) {
      co_return mismatch(spec, "table " + c.schema_name + "." + c.table_name + " does not exist");
    }
    if (cols->value(0, 4) != "r" && cols->value(0, 4) != "p") {
      co_return mismatch(spec, c.schema_name + "." + c.table_name + " is not a table");
    }
    std::vector<protocol::column_schema> all;
    for (int i = 0; i < cols->rows(); ++i) {
      protocol::column_schema col;
      col.name = std::string(cols->value(i, 0));
      col.type = protocol::describe_type(
          static_cast<protocol::type_oid>(std::stoul(std::string(cols->value(i, 1)))));
      col.not_null = cols->value(i, 2) == "t";
      col.has_default = cols->value(i, 3) == "t";
      all.push_back(std::move(col));
    }
    if (spec.columns.empty()) {
      c.columns = all;
    } else {
      for (const auto& name : spec.columns) {
        auto it = std::find_if(all.begin(), all.end(), [&](const auto& x) { return x.name == name; });
        if (it == all.end()) {
          co_return mismatch(spec, "column " + name + " does not exist in " + c.schema_name +
                                       "." + c.table_name);
        }
      }
      // Table order, whatever order the config lists them in.
      for (const auto& col : all) {
        if (std::find(spec.columns.begin(), spec.columns.end(), col.name) != spec.columns.end()) {
          c.columns.push_back(col);
        }
      }
    }
    std::vector<std::string> table_pk;
    if (!cols->is_null(0, 5)) {
      auto names = protocol::array_text_to_strings(cols->value(0, 5));
      if (!names) co_return malformed_array("the primary key's columns", cols->value(0, 5));
      table_pk = std::move(*names);
    }
    std::set<std::string> configured(spec.primary_key.begin(), spec.primary_key.end());
    std::set<std::string> actual(table_pk.begin(), table_pk.end());
    if (configured != actual) {
      std::string names;
      for (const auto& n : table_pk) names += (names.empty() ? "" : ", ") + n;
      co_return mismatch(spec, "primary_key does not match the table's primary key (" +
                                   (names.empty() ? std::string("none") : names) + ")");
    }
    for (const auto& k : spec.primary_key) {
      if (!c.find(k)) co_return mismatch(spec, "primary key column " + k + " is not among its columns");
    }
    c.primary_key = spec.primary_key;
    out.push_back(std::move(c));
  }
  co_return out;
}

}  // namespace fieldsync::storage
