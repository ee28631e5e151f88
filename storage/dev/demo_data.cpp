#include "storage/dev/demo_data.hpp"

#include "storage/dev/demo_random.hpp"
#include "storage/dev/demo_schema_sql.hpp"

#include <boost/system/errc.hpp>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <utility>

namespace fieldsync::storage {

namespace asio = boost::asio;

namespace {

// A line of its own in config/demo_schema.sql (the newline keeps its mention in the
// file's header comment from matching).
constexpr std::string_view after_load_marker = "\n-- fieldsync:after-load\n";

// pg_advisory_xact_lock key of demo loaders ("fsdemo" in ASCII): a second `fieldsync dev`
// on the same database waits, then finds the marker and reuses the data.
constexpr std::int64_t demo_lock_key = 0x667364656d6f;

// How many reps one ETL tick touches (two picks may land on the same rep).
constexpr int etl_picks = 8;
constexpr std::uint64_t etl_stream = 1000;

// The schema splits at the marker line: before COPY, and after it.
std::pair<std::string_view, std::string_view> schema_parts() {
  std::string_view sql = demo_schema_sql();
  auto at = sql.find(after_load_marker);
  if (at == std::string_view::npos) return {sql, {}};
  return {sql.substr(0, at + 1), sql.substr(at + 1)};
}

pg_error invalid(std::string message) {
  return {boost::system::errc::make_error_code(boost::system::errc::invalid_argument), {}, std::move(message)};
}

pg_error unexpected(std::string message) {
  return {make_error_code(pg_errc::unexpected_result), {}, std::move(message)};
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string format_double(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::to_string(v);
}

// The report of an already loaded demo: what the marker says and what the tables hold now.
asio::awaitable<pg_outcome<demo_load_report>> read_existing(pg_connection& conn) {
  std::string sql =
      "SELECT (SELECT seed FROM public.fieldsync_demo_meta ORDER BY loaded_at DESC LIMIT 1),"
      " (SELECT scale FROM public.fieldsync_demo_meta ORDER BY loaded_at DESC LIMIT 1)";
  for (auto t : all_demo_tables) sql += ", (SELECT count(*) FROM public." + std::string(demo_table_name(t)) + ")";
  auto r = co_await conn.async_query(sql);
  if (!r) co_return r.error();
  if (r->rows() != 1 || r->columns() != 2 + static_cast<int>(all_demo_tables.size())) {
    co_return unexpected("demo counts: unexpected result shape");
  }
  demo_load_report report;
  report.reused = true;
  if (auto seed = r->get(0, 0)) report.seed = static_cast<std::uint64_t>(parse_int(*seed).value_or(0));
  if (auto scale = r->get(0, 1)) report.scale = std::strtod(std::string(*scale).c_str(), nullptr);
  for (std::size_t i = 0; i < all_demo_tables.size(); ++i) {
    report.rows[static_cast<std::size_t>(all_demo_tables[i])] =
        parse_int(r->value(0, static_cast<int>(i) + 2)).value_or(0);
  }
  co_return report;
}

// Everything between BEGIN and COMMIT. Returns reused = true, having written nothing,
// when the marker table exists. Errors return at once and the caller alone rolls back:
// with `co_return co_await rollback(...)` here, GCC 12 destroyed a local of this frame
// twice (ASan caught it).
asio::awaitable<pg_outcome<demo_load_report>> load_in_transaction(pg_connection& conn, const demo_options& opts) {
  auto locked = co_await conn.async_query("SELECT pg_advisory_xact_lock($1)", pg_params(demo_lock_key));
  if (!locked) co_return locked.error();
  auto marker = co_await conn.async_query("SELECT to_regclass('public.fieldsync_demo_meta') IS NOT NULL");
  if (!marker) co_return marker.error();
  demo_load_report report;
  report.seed = opts.seed;
  report.scale = opts.scale;
  if (marker->rows() == 1 && marker->value(0, 0) == "t") {
    report.reused = true;
    co_return report;
  }

  demo_generator_options gen;
  gen.seed = opts.seed;
  gen.scale = opts.scale;
  if (opts.anchor_day) {
    gen.anchor_day = *opts.anchor_day;
  } else {
    auto today = co_await conn.async_query("SELECT current_date - date '1970-01-01'");
    if (!today) co_return today.error();
    auto day = today->rows() == 1 ? parse_int(today->value(0, 0)) : std::nullopt;
    if (!day) co_return unexpected("current_date: unexpected result");
    gen.anchor_day = *day;
  }

  const auto parts = schema_parts();
  auto created = co_await conn.async_exec(parts.first);
  if (!created) co_return created.error();

  for (auto t : all_demo_tables) {
    // Shared, so copies of the source that the connection may make all advance one stream.
    auto stream = std::make_shared<demo_table_stream>(t, gen);
    pg_connection::copy_source source = [stream](std::string& chunk) { return stream->next_chunk(chunk); };
    auto copied = co_await conn.async_copy_in(demo_copy_sql(t), std::move(source));
    if (!copied) co_return copied.error();
    report.rows[static_cast<std::size_t>(t)] = *copied;
  }

  auto finished = co_await conn.async_exec(parts.second);
  if (!finished) co_return finished.error();
  std::string analyze = "ANALYZE ";
  for (auto t : all_demo_tables) {
    if (analyze.size() > 8) analyze += ", ";
    analyze += "public." + std::string(demo_table_name(t));
  }
  auto analyzed = co_await conn.async_exec(analyze);
  if (!analyzed) co_return analyzed.error();
  // The seed is stored as its two's-complement bigint; read_existing maps it back.
  auto marked = co_await conn.async_query("INSERT INTO public.fieldsync_demo_meta (seed, scale) VALUES ($1, $2)",
                                          pg_params(static_cast<std::int64_t>(opts.seed), format_double(opts.scale)));
  if (!marked) co_return marked.error();
  co_return report;
}

}  // namespace

std::string demo_load_report::summary() const {
  std::string out;
  for (auto t : all_demo_tables) {
    if (!out.empty()) out += ", ";
    out += std::to_string(rows_of(t)) + " " + std::string(demo_table_name(t));
  }
  return out + " (seed " + std::to_string(seed) + ", scale " + format_double(scale) + ")";
}

asio::awaitable<bool> async_demo_loaded(pg_connection& conn) {
  auto r = co_await conn.async_query("SELECT to_regclass('public.fieldsync_demo_meta') IS NOT NULL");
  co_return r && r->rows() == 1 && r->value(0, 0) == "t";
}

asio::awaitable<pg_outcome<demo_load_report>> async_load_demo(pg_connection& conn, demo_options opts) {
  try {
    static_cast<void>(demo_counts_for(opts.scale));
  } catch (const std::invalid_argument& e) {
    co_return invalid(e.what());
  }

  auto begun = co_await conn.async_exec("BEGIN");
  if (!begun) co_return begun.error();
  auto loaded = co_await load_in_transaction(conn, opts);
  if (!loaded || loaded->reused) {
    // After a failure the transaction is aborted; after finding the demo there is nothing
    // to keep. Either way the lock goes with the rollback.
    if (conn.is_ok()) {
      auto rolled_back = co_await conn.async_exec("ROLLBACK");
      if (!rolled_back && loaded) co_return rolled_back.error();
    }
    if (!loaded) co_return loaded;
    auto existing = co_await read_existing(conn);
    co_return existing;
  }
  auto committed = co_await conn.async_exec("COMMIT");
  if (!committed) co_return committed.error();
  co_return loaded;
}

asio::awaitable<pg_outcome<std::int64_t>> async_run_kpi_etl_tick(pg_connection& conn, std::uint64_t seed,
                                                                 std::uint64_t tick) {
  // The picks are positions in the reps ordered by id (modulo their number), so any set of
  // reps works, not only the generated ids.
  demo_random rng(seed, etl_stream, tick);
  std::string picks = "{", calls = "{", samples = "{", revenue = "{";
  for (int i = 0; i < etl_picks; ++i) {
    const char* sep = i == 0 ? "" : ",";
    const std::int64_t c = rng.between(1, 3);
    const std::int64_t cents = c * rng.between(300, 1500) * 100 + rng.between(0, 99);
    picks += sep + std::to_string(rng.next() >> 1);
    calls += sep + std::to_string(c);
    samples += sep + std::to_string(c * rng.between(0, 3));
    revenue += sep + std::to_string(cents / 100) + "." + std::to_string(cents % 100 / 10) + std::to_string(cents % 10);
  }
  picks += "}";
  calls += "}";
  samples += "}";
  revenue += "}";

  static constexpr std::string_view sql = R"sql(
WITH ranked AS (
  SELECT id, row_number() OVER (ORDER BY id) - 1 AS pos, count(*) OVER () AS n FROM public.reps
), picked AS (
  SELECT r.id AS rep_id, sum(d.calls)::int AS calls, sum(d.samples)::int AS samples, sum(d.revenue) AS revenue
  FROM ranked r
  JOIN unnest($1::bigint[], $2::int[], $3::int[], $4::numeric[]) AS d(pick, calls, samples, revenue)
    ON r.pos = d.pick % r.n
  GROUP BY r.id
)
INSERT INTO public.kpis AS k
  (rep_id, month, calls_planned, calls_done, samples_given, new_accounts, revenue, updated_at, revenue_plan)
SELECT p.rep_id, date_trunc('month', now())::date, plan.calls, p.calls, p.samples, 0, p.revenue, now(),
       plan.calls * 800
FROM picked p
CROSS JOIN LATERAL (
  SELECT coalesce((SELECT calls_planned FROM public.kpis WHERE rep_id = p.rep_id ORDER BY month DESC LIMIT 1), 100) AS calls
) plan
ON CONFLICT (rep_id, month) DO UPDATE
  SET calls_done = k.calls_done + excluded.calls_done,
      samples_given = k.samples_given + excluded.samples_given,
      revenue = k.revenue + excluded.revenue,
      updated_at = excluded.updated_at
)sql";
  auto r = co_await conn.async_query(sql, pg_params(picks, calls, samples, revenue));
  if (!r) co_return r.error();
  co_return static_cast<std::int64_t>(r->affected_rows());
}

}  // namespace fieldsync::storage
