#include "storage/publication.hpp"

#include "storage/source_catalog.hpp"

#include <set>

namespace fieldsync::storage {

namespace asio = boost::asio;

asio::awaitable<pg_outcome<void>> async_sync_publication(
    pg_connection& conn, const std::string& publication,
    const std::vector<protocol::collection_schema>& collections) {
  std::set<std::string> wanted;
  for (const auto& c : collections) {
    wanted.insert(quoted_relation(c));
    auto ident = co_await conn.async_query(
        "SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        pg_params(c.schema_name, c.table_name));
    if (!ident) co_return ident.error();
    if (ident->rows() == 1 && ident->value(0, 0) != "f") {
      auto set = co_await conn.async_exec("ALTER TABLE " + quoted_relation(c) + " REPLICA IDENTITY FULL");
      if (!set) co_return set.error();
    }
  }

  auto current = co_await conn.async_query(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_publication_tables "
      "WHERE pubname = $1",
      pg_params(publication));
  if (!current) co_return current.error();
  auto exists = co_await conn.async_query("SELECT 1 FROM pg_publication WHERE pubname = $1",
                                          pg_params(publication));
  if (!exists) co_return exists.error();
  const std::string pub = quote_identifier(publication);
  if (exists->rows() == 0) {
    auto created = co_await conn.async_exec(
        "CREATE PUBLICATION " + pub + " WITH (publish = 'insert, update, delete, truncate')");
    if (!created) co_return created.error();
  }
  // quote_ident leaves simple lower-case names bare; compare in one spelling.
  auto normal = [](const std::string& quoted) {
    std::string out;
    for (char ch : quoted) if (ch != '"') out += ch;
    return out;
  };
  std::set<std::string> have;
  for (int i = 0; i < current->rows(); ++i) have.insert(normal(std::string(current->value(i, 0))));
  std::set<std::string> want_plain;
  for (const auto& w : wanted) want_plain.insert(normal(w));
  for (const auto& c : collections) {
    if (!have.count(normal(quoted_relation(c)))) {
      auto added = co_await conn.async_exec("ALTER PUBLICATION " + pub + " ADD TABLE " + quoted_relation(c));
      if (!added) co_return added.error();
    }
  }
  for (int i = 0; i < current->rows(); ++i) {
    std::string rel(current->value(i, 0));
    if (!want_plain.count(normal(rel))) {
      auto dropped = co_await conn.async_exec("ALTER PUBLICATION " + pub + " DROP TABLE " + rel);
      if (!dropped) co_return dropped.error();
    }
  }
  co_return pg_outcome<void>{};
}

}  // namespace fieldsync::storage
