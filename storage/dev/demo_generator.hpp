#pragma once
// The deterministic demo data of a pharmaceutical field-sales team, as COPY text.
//
// Every row is a pure function of (seed, anchor day, scale, table, row number): each row
// draws from its own random stream (storage/demo_random.hpp), so the same options give the
// same bytes on every machine, and a table can be streamed in chunks without keeping rows
// (or other tables) in memory. References between tables (a visit's account, rep and
// territory) are recomputed from the referenced row's number, never looked up.
//
// At scale 1.0: 60 territories in 6 regions, 600 reps (one manager per region, the rest
// spread evenly over the territories), 100,000 accounts, 500,000 visits over the 365 days
// before the anchor day, 20,000 opportunities, and KPIs for every rep for the 12 months
// ending with the anchor's month. Other scales multiply the row counts (at least one
// territory, and at least one rep per territory plus the managers).
//
// Concurrency contract: a demo_table_stream is a plain value, used by one thread at a
// time; streams of different tables may run in parallel (they share only immutable state).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fieldsync::storage {

enum class demo_table { territories, reps, accounts, visits, opportunities, kpis };

// In load order: every table after the tables it references.
inline constexpr std::array<demo_table, 6> all_demo_tables{
    demo_table::territories, demo_table::reps,          demo_table::accounts,
    demo_table::visits,      demo_table::opportunities, demo_table::kpis};

// "territories"
std::string_view demo_table_name(demo_table t);
// "COPY public.territories (id, name, region, country) FROM STDIN": the column order the
// stream writes.
std::string_view demo_copy_sql(demo_table t);

struct demo_counts {
  std::int64_t regions = 0;
  std::int64_t territories = 0;
  std::int64_t reps = 0;  // managers included
  std::int64_t accounts = 0;
  std::int64_t visits = 0;
  std::int64_t opportunities = 0;
  std::int64_t kpis = 0;

  std::int64_t rows(demo_table t) const noexcept;
};

inline constexpr double demo_max_scale = 100.0;

// Row counts for a scale in (0, demo_max_scale]; throws std::invalid_argument otherwise.
demo_counts demo_counts_for(double scale);

struct demo_generator_options {
  std::uint64_t seed = 20261124;
  double scale = 1.0;
  // "Today" for the data, in days since 1970-01-01 (UTC): visits lie in the 365 days
  // before it, open opportunities close after it, KPIs end with its month. The loader
  // passes the database's current date; tests pin it to compare bytes.
  std::int64_t anchor_day = 20781;  // 2026-11-24
};

class demo_world;

// One table as a sequence of COPY text chunks.
class demo_table_stream {
 public:
  // A chunk ends at the first row boundary at or after this size.
  static constexpr std::size_t chunk_bytes = 256 * 1024;

  // Throws std::invalid_argument for a bad scale.
  demo_table_stream(demo_table t, const demo_generator_options& opts);

  // Replaces `out` with the next chunk of whole rows; false (and `out` empty) when the
  // table is done.
  bool next_chunk(std::string& out);

  demo_table table() const noexcept { return table_; }
  std::int64_t rows_written() const noexcept { return next_row_; }
  std::int64_t total_rows() const noexcept { return total_rows_; }

 private:
  std::shared_ptr<const demo_world> world_;
  demo_table table_;
  std::int64_t next_row_ = 0;
  std::int64_t total_rows_ = 0;
};

}  // namespace fieldsync::storage
