// The demo generator without a database: determinism, row counts, and that the COPY text
// it writes has the right shape and consistent references.

#include "storage/civil_time.hpp"
#include "storage/dev/demo_generator.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace fieldsync::storage;

namespace {

constexpr std::int64_t anchor = 20781;  // 2026-11-24, a Tuesday

demo_generator_options options(std::uint64_t seed, double scale) {
  demo_generator_options o;
  o.seed = seed;
  o.scale = scale;
  o.anchor_day = anchor;
  return o;
}

struct table_digest {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
  std::int64_t rows = 0;
  std::size_t bytes = 0;
  std::size_t largest_chunk = 0;
};

table_digest digest(demo_table t, const demo_generator_options& o) {
  table_digest d;
  demo_table_stream stream(t, o);
  std::string chunk;
  while (stream.next_chunk(chunk)) {
    REQUIRE(!chunk.empty());
    REQUIRE(chunk.back() == '\n');  // chunks end at row boundaries
    d.largest_chunk = std::max(d.largest_chunk, chunk.size());
    d.bytes += chunk.size();
    for (char c : chunk) {
      d.hash = (d.hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
      if (c == '\n') ++d.rows;
    }
  }
  CHECK(chunk.empty());
  CHECK(stream.rows_written() == stream.total_rows());
  return d;
}

// One COPY text row split into its columns, unescaped; nullopt for \N.
std::vector<std::optional<std::string>> columns(std::string_view line) {
  std::vector<std::optional<std::string>> out;
  std::string cur;
  bool null = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      out.push_back(null ? std::nullopt : std::optional<std::string>(cur));
      cur.clear();
      null = false;
      continue;
    }
    if (line[i] != '\\') {
      cur += line[i];
      continue;
    }
    char e = line[++i];
    if (e == 'N') null = true;
    else if (e == 't') cur += '\t';
    else if (e == 'n') cur += '\n';
    else if (e == 'r') cur += '\r';
    else cur += e;
  }
  return out;
}

std::vector<std::vector<std::optional<std::string>>> rows_of(demo_table t, const demo_generator_options& o) {
  std::vector<std::vector<std::optional<std::string>>> rows;
  demo_table_stream stream(t, o);
  std::string chunk;
  while (stream.next_chunk(chunk)) {
    std::size_t start = 0;
    for (std::size_t nl = chunk.find('\n'); nl != std::string::npos; nl = chunk.find('\n', start)) {
      rows.push_back(columns(std::string_view(chunk).substr(start, nl - start)));
      start = nl + 1;
    }
  }
  return rows;
}

std::size_t column_count(demo_table t) {
  std::string_view sql = demo_copy_sql(t);
  return static_cast<std::size_t>(std::count(sql.begin(), sql.end(), ',')) + 1;
}

}  // namespace

TEST_CASE("demo row counts follow the scale", "[demo_data]") {
  auto full = demo_counts_for(1.0);
  CHECK(full.regions == 6);
  CHECK(full.territories == 60);
  CHECK(full.reps == 600);
  CHECK(full.accounts == 100'000);
  CHECK(full.visits == 500'000);
  CHECK(full.opportunities == 20'000);
  CHECK(full.kpis == 600 * 12);

  auto small = demo_counts_for(0.01);
  CHECK(small.territories == 1);
  CHECK(small.regions == 1);
  CHECK(small.reps == 6);
  CHECK(small.accounts == 1000);
  CHECK(small.visits == 5000);
  CHECK(small.opportunities == 200);
  CHECK(small.kpis == 72);

  auto tiny = demo_counts_for(1e-9);
  CHECK(tiny.territories == 1);
  CHECK(tiny.reps == 2);  // the manager and one rep for the territory
  CHECK(tiny.accounts == 1);

  CHECK_THROWS_AS(demo_counts_for(0.0), std::invalid_argument);
  CHECK_THROWS_AS(demo_counts_for(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(demo_counts_for(demo_max_scale * 2), std::invalid_argument);
  CHECK_THROWS_AS(demo_counts_for(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST_CASE("demo streams write exactly the counted rows at scale 0.01", "[demo_data]") {
  auto o = options(20261124, 0.01);
  auto counts = demo_counts_for(0.01);
  for (auto t : all_demo_tables) {
    INFO(demo_table_name(t));
    CHECK(digest(t, o).rows == counts.rows(t));
  }
}

TEST_CASE("demo streams write exactly the counted rows at scale 1.0, in bounded chunks", "[demo_data][full]") {
  auto o = options(20261124, 1.0);
  auto counts = demo_counts_for(1.0);
  for (auto t : all_demo_tables) {
    INFO(demo_table_name(t));
    auto d = digest(t, o);
    CHECK(d.rows == counts.rows(t));
    // A chunk stops at the first row boundary past the target size; rows are short.
    CHECK(d.largest_chunk < demo_table_stream::chunk_bytes + 4096);
    if (d.bytes > demo_table_stream::chunk_bytes) CHECK(d.largest_chunk >= demo_table_stream::chunk_bytes);
  }
}

TEST_CASE("the same seed gives the same bytes, another seed other bytes", "[demo_data]") {
  for (double scale : {0.01, 0.05}) {
    auto a = options(20261124, scale);
    auto b = options(7, scale);
    for (auto t : all_demo_tables) {
      INFO(demo_table_name(t) << " at scale " << scale);
      auto first = digest(t, a);
      auto again = digest(t, a);
      auto other = digest(t, b);
      CHECK(first.hash == again.hash);
      CHECK(first.bytes == again.bytes);
      CHECK(first.hash != other.hash);
    }
  }
}

TEST_CASE("the demo bytes are pinned, so every machine produces the same data", "[demo_data]") {
  // These change only when the generator or its vocabulary changes on purpose; then print
  // the new values (the INFO lines) and update them. A change without a reason means the
  // output depends on the platform, which the demo must never do.
  const std::map<demo_table, std::uint64_t> pinned{
      {demo_table::territories, 0x0e06e8056a01c648ull}, {demo_table::reps, 0x8094f9b6e5c999dcull},
      {demo_table::accounts, 0x7fcd40e34a6c866dull},    {demo_table::visits, 0x6046abd953ad5686ull},
      {demo_table::opportunities, 0xab871c74fa9fe516ull}, {demo_table::kpis, 0x4ac042e4b096ba77ull},
  };
  auto o = options(20261124, 0.1);  // every region, every language
  for (auto t : all_demo_tables) {
    auto d = digest(t, o);
    INFO(demo_table_name(t) << " hash 0x" << std::hex << d.hash);
    CHECK(d.hash == pinned.at(t));
  }
}

TEST_CASE("every demo row has the table's columns and values of the right form", "[demo_data]") {
  auto o = options(20261124, 0.05);
  for (auto t : all_demo_tables) {
    INFO(demo_table_name(t));
    for (const auto& row : rows_of(t, o)) REQUIRE(row.size() == column_count(t));
  }

  auto visits = rows_of(demo_table::visits, o);
  const std::string first_day = format_date(anchor - 367);  // 365, or the Friday before a weekend
  const std::string last_day = format_date(anchor);
  for (const auto& v : visits) {
    const std::string& at = *v[4];
    REQUIRE(at.size() == 22);
    CHECK(at.substr(0, 10) >= first_day);
    CHECK(at.substr(0, 10) < last_day);
    CHECK(v[6]->front() == '{');  // products_discussed, an array literal
    CHECK(v[6]->back() == '}');
    CHECK(v[7]->front() == '{');  // samples_left, a JSON object
    CHECK(*v[10] > at);           // the report is written after the visit
  }

  // Some notes hold characters that COPY must escape, and they come back intact.
  bool multi_line = false, tab = false, backslash = false;
  for (const auto& v : visits) {
    if (!v[8]) continue;
    multi_line |= v[8]->find('\n') != std::string::npos;
    tab |= v[8]->find('\t') != std::string::npos;
    backslash |= v[8]->find('\\') != std::string::npos;
  }
  CHECK(multi_line);
  CHECK(tab);
  CHECK(backslash);

  std::set<std::string> months;
  for (const auto& k : rows_of(demo_table::kpis, o)) {
    months.insert(*k[1]);
    CHECK(std::stoi(*k[3]) <= std::stoi(*k[2]) * 105 / 100);
  }
  CHECK(months.size() == 12);
  CHECK(*months.begin() == "2025-12-01");
  CHECK(*months.rbegin() == "2026-11-01");
}

TEST_CASE("demo references point at rows that exist, in the same territory", "[demo_data]") {
  auto o = options(99, 0.2);  // 12 territories in 6 regions
  std::map<std::string, std::int64_t> territory_of_rep, territory_of_account;
  std::set<std::string> territories, regions;
  for (const auto& t : rows_of(demo_table::territories, o)) {
    territories.insert(*t[0]);
    regions.insert(*t[2]);
  }
  CHECK(territories.size() == 12);
  CHECK(regions.size() == 6);

  std::map<std::string, int> managers_per_region;
  std::set<std::string> emails;
  for (const auto& r : rows_of(demo_table::reps, o)) {
    REQUIRE(territories.count(*r[1]) == 1);
    territory_of_rep[*r[0]] = std::stoll(*r[1]);
    CHECK(emails.insert(*r[3]).second);
    if (*r[4] == "manager") ++managers_per_region[*r[5]];
  }
  CHECK(managers_per_region.size() == 6);
  for (const auto& [region, n] : managers_per_region) CHECK(n == 1);

  for (const auto& a : rows_of(demo_table::accounts, o)) {
    REQUIRE(territories.count(*a[1]) == 1);
    CHECK(territory_of_account.emplace(*a[0], std::stoll(*a[1])).second);  // ids are unique
    CHECK((*a[2] == "pharmacy") == !a[4]);                                 // only pharmacies lack a specialty
  }

  std::set<std::string> visit_ids;
  for (const auto& v : rows_of(demo_table::visits, o)) {
    CHECK(visit_ids.insert(*v[0]).second);
    auto account = territory_of_account.find(*v[1]);
    REQUIRE(account != territory_of_account.end());
    CHECK(std::stoll(*v[3]) == account->second);
    REQUIRE(territory_of_rep.count(*v[2]) == 1);
    CHECK(territory_of_rep[*v[2]] == account->second);
  }
  for (const auto& p : rows_of(demo_table::opportunities, o)) {
    auto account = territory_of_account.find(*p[1]);
    REQUIRE(account != territory_of_account.end());
    CHECK(std::stoll(*p[2]) == account->second);
    CHECK(territory_of_rep[*p[3]] == account->second);
  }
  for (const auto& k : rows_of(demo_table::kpis, o)) CHECK(territory_of_rep.count(*k[0]) == 1);
}
