#include "storage/initial_load.hpp"

#include "protocol/row_key.hpp"
#include "protocol/value_json.hpp"
#include "storage/copy_text.hpp"
#include "storage/log_schema.hpp"
#include "storage/source_catalog.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace fieldsync::storage {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::lsn;

namespace {

constexpr int fetch_rows = 5000;

pg_error load_error(const protocol::collection_schema& c, std::string what) {
  return pg_error{make_error_code(pg_errc::unexpected_result), {},
                  "loading collection " + c.name + " (table " + quoted_relation(c) +
                      "): " + std::move(what)};
}

// A failure of this collection alone (a value, a table the role may not read), after which
// the connections are still usable; anything else ends the whole load.
bool collection_only(const pg_error& e) noexcept {
  return e.code == pg_errc::unexpected_result || e.code == pg_errc::query_failed;
}

std::string text_array(const std::vector<std::string>& items) {
  std::vector<std::string_view> views(items.begin(), items.end());
  return text_array_literal(views);
}

// Copies one collection: source cursor in pages, each page one COPY into `rows`.
asio::awaitable<pg_outcome<std::uint64_t>> copy_collection(pg_connection& source,
                                                           pg_connection& storage,
                                                           const protocol::collection_schema& c,
                                                           const std::string& version) {
  std::string select = "DECLARE fieldsync_load NO SCROLL CURSOR FOR SELECT ";
  for (std::size_t i = 0; i < c.columns.size(); ++i) {
    if (i) select += ", ";
    // Text results are each type's output function, as in pgoutput: a cast to text would
    // not always be (a boolean casts to "true", its output is "t").
    select += quote_identifier(c.columns[i].name);
  }
  select += " FROM " + quoted_relation(c);
  auto declared = co_await source.async_exec(select);
  if (!declared) co_return declared.error();

  auto cleared = co_await storage.async_query("DELETE FROM fieldsync.rows WHERE collection = $1",
                                              pg_params(c.name));
  if (!cleared) co_return cleared.error();

  std::uint64_t total = 0;
  std::string copy;
  for (;;) {
    auto page = co_await source.async_exec("FETCH FORWARD " + std::to_string(fetch_rows) +
                                           " FROM fieldsync_load");
    if (!page) co_return page.error();
    if (page->rows() == 0) break;
    copy.clear();
    for (int r = 0; r < page->rows(); ++r) {
      json::object row;
      row.reserve(c.columns.size());
      for (std::size_t i = 0; i < c.columns.size(); ++i) {
        int col = static_cast<int>(i);
        if (page->is_null(r, col)) {
          row.emplace(c.columns[i].name, nullptr);
          continue;
        }
        auto v = protocol::text_to_json(c.columns[i].type, page->value(r, col));
        if (!v) {
          co_return load_error(c, "column " + c.columns[i].name + " (" +
                                      std::string(c.columns[i].type.name) +
                                      "): " + v.error().message());
        }
        row.emplace(c.columns[i].name, std::move(*v));
      }
      auto key = protocol::row_key(row, c.primary_key);
      if (!key) co_return load_error(c, "a row without its primary key");
      copy_row(copy).text(c.name).text(*key).raw(version).raw("f").text(json::serialize(row)).end();
    }
    bool sent = false;
    auto copied = co_await storage.async_copy_in(
        "COPY fieldsync.rows (collection, key, lsn, deleted, \"row\") FROM STDIN",
        [&](std::string& chunk) {
          if (!sent) chunk = std::move(copy);
          sent = true;
          return false;
        });
    if (!copied) co_return copied.error();
    total += static_cast<std::uint64_t>(page->rows());
  }
  auto closed = co_await source.async_exec("CLOSE fieldsync_load");
  if (!closed) co_return closed.error();
  co_return total;
}

asio::awaitable<pg_outcome<load_report>> load_in_transactions(
    pg_connection& source, pg_connection& storage,
    const std::vector<const protocol::collection_schema*>& collections, std::int64_t epoch) {
  // Transactions already running when the publication gained these tables may be decoded
  // without them (with the catalog as it was when they began) yet be invisible to a
  // snapshot taken now: their changes would be in neither the copy nor the stream. So the
  // copy waits until every one of them has ended, and then sees them all.
  auto xmax = co_await source.async_query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text");
  if (!xmax) co_return xmax.error();
  const std::string before(xmax->value(0, 0));
  for (int waited = 0;; ++waited) {
    auto done = co_await source.async_query(
        "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8", pg_params(before));
    if (!done) co_return done.error();
    if (done->value(0, 0) == "t") break;
    if (waited == 10) {
      spdlog::info("initial load: waiting for transactions older than the publication change to end");
    }
    auto nap = co_await source.async_query("SELECT pg_sleep(0.1)");
    if (!nap) co_return nap.error();
  }

  // L0 before the snapshot: everything the snapshot misses commits after it.
  auto l0 = co_await source.async_query("SELECT pg_current_wal_lsn()::text");
  if (!l0) co_return l0.error();
  const std::string version(l0->value(0, 0));
  auto begun = co_await source.async_exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begun) co_return begun.error();
  auto snap = co_await source.async_query("SELECT pg_current_snapshot()::text");
  if (!snap) co_return snap.error();
  const std::string snapshot(snap->value(0, 0));

  auto st = co_await storage.async_exec("BEGIN; SELECT 1 FROM fieldsync.state FOR UPDATE");
  if (!st) co_return st.error();

  load_report report;
  report.version = lsn::parse(version).value_or(lsn());
  // A savepoint per collection on both sides: a failed copy rolls back alone, and the
  // source's snapshot (taken by its first statement) stays the one every copy reads.
  constexpr std::string_view savepoint = "SAVEPOINT fieldsync_load";
  constexpr std::string_view rollback = "ROLLBACK TO SAVEPOINT fieldsync_load";
  constexpr std::string_view release = "RELEASE SAVEPOINT fieldsync_load";
  std::vector<const protocol::collection_schema*> copied;
  for (const auto* c : collections) {
    auto marked = co_await source.async_exec(savepoint);
    if (marked) marked = co_await storage.async_exec(savepoint);
    if (!marked) co_return marked.error();
    auto n = co_await copy_collection(source, storage, *c, version);
    if (!n && !collection_only(n.error())) co_return n.error();
    const bool ok = n.has_value();
    auto ended = co_await source.async_exec(ok ? release : rollback);
    if (ended) ended = co_await storage.async_exec(ok ? release : rollback);
    if (!ended) co_return ended.error();
    if (ok) {
      report.rows += *n;
      copied.push_back(c);
    } else {
      report.failures.push_back({c->name, n.error().message});
    }
  }
  // After the copy: no transaction the snapshot saw can commit later than this.
  auto until = co_await source.async_query("SELECT pg_current_wal_lsn()::text");
  if (!until) co_return until.error();
  const std::string snapshot_until(until->value(0, 0));
  auto ended = co_await source.async_exec("COMMIT");
  if (!ended) co_return ended.error();

  for (const auto* c : collections) {
    const bool ok = std::find(copied.begin(), copied.end(), c) != copied.end();
    std::optional<std::string> failure;
    for (const auto& f : report.failures) {
      if (f.collection == c->name) failure = f.message;
    }
    std::vector<std::string> columns;
    for (const auto& col : c->columns) columns.push_back(col.name);
    // Named, not written as `ok ? optional(...) : nullopt` inside the co_await: GCC
    // destroys such conditional temporaries of a coroutine twice (ASan: bad-free).
    std::optional<std::string> loaded_snapshot, loaded_until;
    if (ok) {
      loaded_snapshot = snapshot;
      loaded_until = snapshot_until;
    }
    pg_params params(c->name, quoted_relation(*c), text_array(columns), text_array(c->primary_key),
                     epoch, version, loaded_snapshot, loaded_until, log_value_format, failure);
    auto saved = co_await storage.async_query(
        "INSERT INTO fieldsync.collections (name, relation, columns, primary_key, epoch, "
        "loaded_lsn, snapshot, snapshot_until, format, failure) "
        "VALUES ($1, $2, $3::text[], $4::text[], $5::bigint, $6::pg_lsn, $7, $8::pg_lsn, "
        "$9::integer, $10) "
        "ON CONFLICT (name) DO UPDATE SET relation = excluded.relation, "
        "columns = excluded.columns, primary_key = excluded.primary_key, "
        "epoch = excluded.epoch, loaded_lsn = excluded.loaded_lsn, "
        "snapshot = excluded.snapshot, snapshot_until = excluded.snapshot_until, "
        "format = excluded.format, failure = excluded.failure",
        params);
    if (!saved) co_return saved.error();
  }
  auto committed = co_await storage.async_exec("COMMIT");
  if (!committed) co_return committed.error();
  co_return report;
}

}  // namespace

asio::awaitable<pg_outcome<load_report>> async_load_collections(
    pg_connection& source, pg_connection& storage,
    const std::vector<const protocol::collection_schema*>& collections, std::int64_t epoch) {
  auto r = co_await load_in_transactions(source, storage, collections, epoch);
  if (!r) {
    // Leave both connections usable (or broken, which the caller sees next time).
    (void)co_await source.async_exec("ROLLBACK");
    (void)co_await storage.async_exec("ROLLBACK");
  }
  co_return r;
}

}  // namespace fieldsync::storage
