#include "storage/dev/demo_generator.hpp"

#include "protocol/civil_calendar.hpp"
#include "storage/civil_time.hpp"
#include "storage/copy_text.hpp"
#include "storage/dev/demo_random.hpp"
#include "storage/dev/demo_vocabulary.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <utility>
#include <vector>

namespace fieldsync::storage {

namespace vocab = demo_vocabulary;
using protocol::civil_date;
using protocol::civil_from_days;
using protocol::days_from_civil;
using protocol::days_in_month;
using protocol::weekday_from_days;

namespace {

// Random streams, one per purpose. Changing a number changes the data of every seed.
enum stream : std::uint64_t {
  s_city_rotation = 1,
  s_rep,
  s_account_profile,
  s_account,
  s_account_uuid,
  s_visit,
  s_visit_uuid,
  s_opportunity,
  s_opportunity_uuid,
  s_kpi,
};

enum class account_kind { doctor, pharmacy, hospital };
constexpr std::array<unsigned, 3> account_kind_weights{70, 20, 10};
constexpr std::array<std::string_view, 3> account_kind_names{"doctor", "pharmacy", "hospital"};

constexpr std::array<std::string_view, 4> channel_names{"in_person", "phone", "video", "email"};
constexpr std::array<unsigned, 4> channel_weights{70, 12, 10, 8};

constexpr std::array<std::string_view, 6> stage_names{"prospecting", "qualification", "proposal",
                                                      "negotiation", "closed_won", "closed_lost"};
constexpr std::array<unsigned, 6> stage_weights{20, 20, 15, 10, 20, 15};

constexpr std::array<std::string_view, 3> segment_names{"A", "B", "C"};
constexpr std::array<unsigned, 3> segment_weights{15, 35, 50};

constexpr std::int64_t seconds_per_day = 86400;

std::string to_string(std::int64_t v) { return std::to_string(v); }

// Replaces {key} placeholders; unknown keys stay as they are.
std::string fill(std::string_view tmpl, std::initializer_list<std::pair<std::string_view, std::string_view>> vars) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  std::size_t pos = 0;
  while (pos < tmpl.size()) {
    auto open = tmpl.find('{', pos);
    if (open == std::string_view::npos) break;
    auto close = tmpl.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(pos, open - pos));
    std::string_view key = tmpl.substr(open + 1, close - open - 1);
    bool found = false;
    for (const auto& [k, v] : vars) {
      if (k == key) {
        out.append(v);
        found = true;
        break;
      }
    }
    if (!found) out.append(tmpl.substr(open, close - open + 1));
    pos = close + 1;
  }
  out.append(tmpl.substr(pos));
  return out;
}

// For e-mail addresses: the letters of a name in lower-case ASCII ("Jürgen" -> "juergen").
std::string ascii_fold(std::string_view s) {
  static constexpr std::pair<std::string_view, std::string_view> folds[] = {
      {"ä", "ae"}, {"ö", "oe"}, {"ü", "ue"}, {"Ä", "ae"}, {"Ö", "oe"}, {"Ü", "ue"}, {"ß", "ss"},
      {"é", "e"},  {"è", "e"},  {"ê", "e"},  {"ë", "e"},  {"É", "e"},  {"á", "a"},  {"à", "a"},
      {"â", "a"},  {"ã", "a"},  {"å", "a"},  {"Å", "a"},  {"Á", "a"},  {"æ", "ae"}, {"í", "i"},
      {"î", "i"},  {"ó", "o"},  {"ò", "o"},  {"ô", "o"},  {"ø", "o"},  {"Ø", "o"},  {"ú", "u"},
      {"ñ", "n"},  {"ç", "c"}};
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
      ++i;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
      ++i;
      continue;
    }
    bool folded = false;
    for (const auto& [from, to] : folds) {
      if (s.substr(i, from.size()) == from) {
        out += to;
        i += from.size();
        folded = true;
        break;
      }
    }
    if (!folded) ++i;  // spaces, apostrophes and letters we do not know are left out
  }
  return out;
}

std::string uuid_text(demo_random& rng) {
  static constexpr char hex[] = "0123456789abcdef";
  // Version 4 and the RFC 4122 variant, so the values look like what clients generate.
  std::uint64_t hi = (rng.next() & ~0xf000ull) | 0x4000ull;
  std::uint64_t lo = (rng.next() & ~(3ull << 62)) | (2ull << 62);
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](std::uint64_t v, int nibbles, int shift) {
    for (int n = 0; n < nibbles; ++n) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[static_cast<std::size_t>(pos++)] = hex[(v >> (shift - 4 * n)) & 0xf];
    }
  };
  put(hi, 16, 60);
  put(lo, 16, 60);
  return out;
}

// "12345.67" from cents.
std::string money(std::int64_t cents) {
  std::string out = to_string(cents / 100);
  out += '.';
  out += static_cast<char>('0' + cents % 100 / 10);
  out += static_cast<char>('0' + cents % 10);
  return out;
}

// A working day in [first, last], uniformly: weekend draws are drawn again (moving them to
// the Friday would triple Fridays). After a few weekend draws in a row, the Friday before.
std::int64_t working_day_between(demo_random& rng, std::int64_t first, std::int64_t last) {
  std::int64_t day = first;
  for (int tries = 0; tries < 8; ++tries) {
    day = rng.between(first, last);
    const unsigned wd = weekday_from_days(day);
    if (wd != 0 && wd != 6) return day;
  }
  return day - (weekday_from_days(day) == 6 ? 1 : 2);
}

// First day of the month `offset` months after the month of `day` (offset may be < 0).
std::int64_t month_start(std::int64_t day, int offset) {
  civil_date d = civil_from_days(day);
  const std::int64_t index = d.year * 12 + d.month - 1 + offset;
  return days_from_civil({index / 12, static_cast<unsigned>(index % 12) + 1, 1});
}

std::int64_t scaled(double base, double scale, std::int64_t minimum) {
  return std::max<std::int64_t>(minimum, std::llround(base * scale));
}

}  // namespace

// Everything derived from the options once: counts and the shape of the organisation.
// Immutable after construction, shared by the streams of one load.
class demo_world {
 public:
  explicit demo_world(const demo_generator_options& opts)
      : opts_(opts), counts_(demo_counts_for(opts.scale)) {
    field_reps_ = counts_.reps - counts_.regions;
    for (std::size_t c = 0; c < vocab::countries().size(); ++c) {
      demo_random rng(opts_.seed, s_city_rotation, c);
      city_rotation_.push_back(rng.below(vocab::countries()[c].cities.size()));
    }
  }

  const demo_counts& counts() const noexcept { return counts_; }

  void write_row(demo_table t, std::int64_t i, std::string& out) const {
    switch (t) {
      case demo_table::territories: return write_territory(i, out);
      case demo_table::reps: return write_rep(i, out);
      case demo_table::accounts: return write_account(i, out);
      case demo_table::visits: return write_visit(i, out);
      case demo_table::opportunities: return write_opportunity(i, out);
      case demo_table::kpis: return write_kpi(i, out);
    }
  }

 private:
  struct territory_info {
    std::size_t region;
    const vocab::country* country;
    std::string_view city;
    std::size_t round;  // > 0 when the region has more territories in a country than it has cities
  };

  struct account_profile {
    std::int64_t territory;  // 0-based
    account_kind kind;
    vocab::specialty specialty;  // doctors only
    std::string_view first_name;
    std::string_view last_name;
    std::string_view city;
    std::size_t name_pattern;  // pharmacies and hospitals
  };

  // --- the organisation -----------------------------------------------------------------

  std::int64_t first_territory_of(std::int64_t region) const {
    return (region * counts_.territories + counts_.regions - 1) / counts_.regions;
  }

  // Territories are split into contiguous blocks per region, and a region's territories
  // take turns over its countries; the seed rotates which city comes first.
  territory_info territory(std::int64_t t) const {
    const std::int64_t g = t * counts_.regions / counts_.territories;
    const auto& region = vocab::regions()[static_cast<std::size_t>(g)];
    const auto k = static_cast<std::size_t>(t - first_territory_of(g));
    const std::size_t country_index = region.countries[k % region.countries.size()];
    const auto& country = vocab::countries()[country_index];
    const std::size_t slot = k / region.countries.size();
    const std::size_t cities = country.cities.size();
    std::string_view city = country.cities[(slot + city_rotation_[country_index]) % cities];
    return {static_cast<std::size_t>(g), &country, city, slot / cities};
  }

  const vocab::language& language_of(const territory_info& ti) const {
    return vocab::languages()[ti.country->language];
  }

  std::int64_t field_reps_in(std::int64_t t) const {
    return t < field_reps_ ? (field_reps_ - 1 - t) / counts_.territories + 1 : 0;
  }

  // Rep ids: 1..regions are the managers, then field rep j has id regions + 1 + j and
  // works in territory j mod territories.
  std::int64_t rep_for(std::int64_t t, demo_random& rng) const {
    const std::int64_t n = field_reps_in(t);
    if (n == 0) return t * counts_.regions / counts_.territories + 1;  // the region's manager
    return counts_.regions + 1 + t + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n))) *
                                         counts_.territories;
  }

  account_profile account(std::int64_t i) const {
    demo_random rng(opts_.seed, s_account_profile, static_cast<std::uint64_t>(i));
    account_profile p{};
    p.territory = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(counts_.territories)));
    p.kind = static_cast<account_kind>(rng.weighted(account_kind_weights));
    p.specialty = static_cast<vocab::specialty>(rng.weighted(vocab::specialty_weights()));
    const territory_info ti = territory(p.territory);
    const auto& lang = language_of(ti);
    p.first_name = rng.pick(lang.first_names);
    p.last_name = rng.pick(lang.last_names);
    // Most accounts are in the territory's home city, the rest elsewhere in the country.
    p.city = rng.percent(85) ? ti.city : rng.pick(ti.country->cities);
    p.name_pattern = rng.next() >> 32;  // each use takes it modulo the length of its list
    return p;
  }

  std::string account_name(const account_profile& p, const territory_info& ti) const {
    switch (p.kind) {
      case account_kind::doctor:
        return "Dr. " + std::string(p.first_name) + " " + std::string(p.last_name);
      case account_kind::pharmacy: {
        const auto& lang = language_of(ti);
        if (p.name_pattern % 2 == 0) return std::string(lang.pharmacy_word) + " " + std::string(p.last_name);
        return std::string(lang.pharmacy_word) + " " +
               std::string(lang.pharmacy_suffixes[p.name_pattern / 2 % lang.pharmacy_suffixes.size()]) + " " +
               std::string(p.city);
      }
      case account_kind::hospital: {
        auto patterns = vocab::hospital_patterns();
        auto saints = vocab::saints();
        return fill(patterns[p.name_pattern % patterns.size()],
                    {{"city", p.city}, {"last", p.last_name}, {"saint", saints[p.name_pattern / 7 % saints.size()]}});
      }
    }
    return {};
  }

  // Hospitals named "Heart Centre" or "Cancer Centre" have that focus.
  std::string_view account_specialty(const account_profile& p) const {
    if (p.kind == account_kind::doctor) return vocab::specialty_name(p.specialty);
    if (p.kind == account_kind::pharmacy) return {};
    std::string_view pattern = vocab::hospital_patterns()[p.name_pattern % vocab::hospital_patterns().size()];
    if (pattern.find("Heart") != std::string_view::npos) return "cardiology";
    if (pattern.find("Cancer") != std::string_view::npos) return "oncology";
    return "multi-specialty";
  }

  std::vector<std::size_t> relevant_products(const account_profile& p) const {
    unsigned mask = ~0u;  // hospitals: the whole portfolio
    if (p.kind == account_kind::doctor) mask = 1u << static_cast<std::size_t>(p.specialty);
    if (p.kind == account_kind::pharmacy) {
      mask = (1u << static_cast<std::size_t>(vocab::specialty::general_practice)) |
             (1u << static_cast<std::size_t>(vocab::specialty::endocrinology));
    }
    std::vector<std::size_t> out;
    auto products = vocab::products();
    for (std::size_t i = 0; i < products.size(); ++i) {
      if (products[i].specialties & mask) out.push_back(i);
    }
    return out;
  }

  // What a symposium invitation is about.
  std::string_view therapy_area(const account_profile& p) const {
    if (p.kind == account_kind::pharmacy) return "primary care";
    std::string_view s = account_specialty(p);
    return s == "multi-specialty" ? "internal medicine" : s;
  }

  std::string_view contact(const account_profile& p, std::string& storage) const {
    switch (p.kind) {
      case account_kind::doctor: storage = "Dr. " + std::string(p.last_name); return storage;
      case account_kind::pharmacy: return "the pharmacist";
      case account_kind::hospital: return "the head of department";
    }
    return {};
  }

  std::string uuid_of(stream s, std::int64_t i) const {
    demo_random rng(opts_.seed, s, static_cast<std::uint64_t>(i));
    return uuid_text(rng);
  }

  // --- rows -----------------------------------------------------------------------------

  void write_territory(std::int64_t i, std::string& out) const {
    const territory_info ti = territory(i);
    std::string name(ti.city);
    if (ti.round > 0) name += " " + to_string(static_cast<std::int64_t>(ti.round) + 1);
    copy_row(out)
        .integer(i + 1)
        .text(name)
        .text(vocab::regions()[ti.region].name)
        .text(ti.country->code)
        .end();
  }

  void write_rep(std::int64_t i, std::string& out) const {
    const std::int64_t id = i + 1;
    const bool manager = i < counts_.regions;
    const std::int64_t t = manager ? first_territory_of(i) : (i - counts_.regions) % counts_.territories;
    const territory_info ti = territory(t);
    const auto& lang = language_of(ti);
    demo_random rng(opts_.seed, s_rep, static_cast<std::uint64_t>(i));
    std::string_view first = rng.pick(lang.first_names);
    std::string_view last = rng.pick(lang.last_names);
    std::string email = ascii_fold(first) + "." + ascii_fold(last) + "." + to_string(id) + "@pharma-demo.example";
    copy_row(out)
        .integer(id)
        .integer(t + 1)
        .text(std::string(first) + " " + std::string(last))
        .text(email)
        .raw(manager ? "manager" : "rep")
        .text(vocab::regions()[ti.region].name)
        .end();
  }

  void write_account(std::int64_t i, std::string& out) const {
    const account_profile p = account(i);
    const territory_info ti = territory(p.territory);
    demo_random rng(opts_.seed, s_account, static_cast<std::uint64_t>(i));

    std::string postal;
    for (char c : ti.country->postal_format) {
      if (c == '#') {
        postal += static_cast<char>('0' + rng.below(10));
      } else if (c == 'A') {
        postal += static_cast<char>('A' + rng.below(26));
      } else {
        postal += c;
      }
    }

    std::vector<std::string_view> tags;
    const auto all_tags = vocab::account_tags();
    const auto tag_count = rng.weighted(std::array<unsigned, 4>{45, 30, 17, 8});
    for (std::size_t n = 0; n < tag_count; ++n) {
      std::string_view tag = rng.pick(all_tags);
      if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
    }

    copy_row row(out);
    row.raw(uuid_of(s_account_uuid, i))
        .integer(p.territory + 1)
        .raw(account_kind_names[static_cast<std::size_t>(p.kind)])
        .text(account_name(p, ti));
    if (auto spec = account_specialty(p); spec.empty()) {
      row.null();
    } else {
      row.text(spec);
    }
    row.text(p.city).text(postal);
    if (rng.percent(92)) {
      std::string phone = std::string(ti.country->phone_prefix) + " " + to_string(rng.between(2, 99)) + " " +
                          to_string(rng.between(1000000, 9999999));
      row.text(phone);
    } else {
      row.null();
    }
    row.text_array(tags)
        .raw(segment_names[rng.weighted(segment_weights)])
        .raw(format_timestamp((opts_.anchor_day - rng.between(1, 365)) * seconds_per_day +
                              rng.between(7 * 3600, 19 * 3600)))
        .end();
  }

  void write_visit(std::int64_t i, std::string& out) const {
    demo_random rng(opts_.seed, s_visit, static_cast<std::uint64_t>(i));
    const auto account_index = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(counts_.accounts)));
    const account_profile p = account(account_index);
    const std::int64_t rep = rep_for(p.territory, rng);
    const std::int64_t day = working_day_between(rng, opts_.anchor_day - 365, opts_.anchor_day - 1);
    const std::int64_t visited_at = day * seconds_per_day + rng.between(450, 1050) * 60;
    const auto channel = rng.weighted(channel_weights);

    // 1 to 3 different products that matter to this account.
    std::vector<std::size_t> relevant = relevant_products(p);
    const auto wanted = static_cast<std::size_t>(rng.between(1, std::min<std::int64_t>(3, static_cast<std::int64_t>(relevant.size()))));
    std::vector<std::string_view> discussed;
    for (std::size_t n = 0; n < wanted; ++n) {
      std::size_t k = n + rng.below(relevant.size() - n);
      std::swap(relevant[n], relevant[k]);
      discussed.push_back(vocab::products()[relevant[n]].name);
    }

    std::string samples = "{";
    if (channel == 0 && p.kind == account_kind::doctor && rng.percent(60)) {
      const auto kinds = std::min<std::size_t>(discussed.size(), 1 + rng.below(2));
      for (std::size_t n = 0; n < kinds; ++n) {
        if (n > 0) samples += ", ";
        append_json_string(samples, discussed[n]);
        samples += ": ";
        samples += to_string(rng.between(2, 12));
      }
    }
    samples += '}';

    std::string contact_storage;
    const std::string_view who = contact(p, contact_storage);
    const std::string count = to_string(rng.between(2, 9));
    const std::string year = to_string(civil_from_days(day).year);
    const std::string_view spec = therapy_area(p);

    copy_row row(out);
    row.raw(uuid_of(s_visit_uuid, i))
        .raw(uuid_of(s_account_uuid, account_index))
        .integer(rep)
        .integer(p.territory + 1)
        .raw(format_timestamp(visited_at))
        .raw(channel_names[channel])
        .text_array(discussed)
        .text(samples);
    if (rng.percent(90)) {
      row.text(fill(rng.pick(vocab::visit_notes()),
                    {{"product", discussed[0]}, {"contact", who}, {"specialty", spec}, {"n", count}, {"year", year}}));
    } else {
      row.null();
    }
    if (rng.percent(75)) {
      row.text(fill(rng.pick(vocab::next_steps()), {{"product", discussed[0]}}));
    } else {
      row.null();
    }
    row.raw(format_timestamp(visited_at + rng.between(5, 240) * 60)).end();
  }

  void write_opportunity(std::int64_t i, std::string& out) const {
    demo_random rng(opts_.seed, s_opportunity, static_cast<std::uint64_t>(i));
    // Opportunities are mostly with organisations: a few tries to land on one.
    auto account_index = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(counts_.accounts)));
    account_profile p = account(account_index);
    for (int tries = 0; tries < 6 && p.kind == account_kind::doctor; ++tries) {
      account_index = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(counts_.accounts)));
      p = account(account_index);
    }
    const territory_info ti = territory(p.territory);
    const auto& lang = language_of(ti);
    const std::int64_t owner = rep_for(p.territory, rng);
    const std::vector<std::size_t> relevant = relevant_products(p);
    const auto& product = vocab::products()[relevant[rng.below(relevant.size())]];
    const std::size_t stage = rng.weighted(stage_weights);
    const bool closed = stage >= 4;

    std::int64_t cents = 0;
    switch (p.kind) {
      case account_kind::hospital: cents = rng.between(200, 5000) * 10000; break;
      case account_kind::pharmacy: cents = rng.between(20, 600) * 10000; break;
      case account_kind::doctor: cents = rng.between(100, 2000) * 1000; break;
    }
    cents += rng.between(0, 99);
    const std::int64_t close_day =
        closed ? working_day_between(rng, opts_.anchor_day - 365, opts_.anchor_day - 1)
               : opts_.anchor_day + rng.between(7, 270);
    const std::int64_t updated_at = closed ? close_day * seconds_per_day + rng.between(9 * 3600, 18 * 3600)
                                           : (opts_.anchor_day - rng.between(1, 60)) * seconds_per_day +
                                                 rng.between(8 * 3600, 19 * 3600);

    // MEDDPICC fills in as the deal advances: the later the stage, the more is known.
    const std::size_t level = closed ? 3 : stage;
    const std::string n = to_string(rng.between(2, 9));
    const std::string_view first = rng.pick(lang.first_names);
    const std::string_view last = rng.pick(lang.last_names);
    const std::string_view spec = therapy_area(p);
    auto optional_text = [&](copy_row& row, std::size_t from_level, vocab::words options) {
      if (level < from_level) {
        rng.next();  // keep the stream aligned whatever the stage
        row.null();
        return;
      }
      row.text(fill(rng.pick(options), {{"n", n},
                                        {"first", first},
                                        {"last", last},
                                        {"specialty", spec},
                                        {"molecule", product.molecule}}));
    };

    copy_row row(out);
    row.raw(uuid_of(s_opportunity_uuid, i))
        .raw(uuid_of(s_account_uuid, account_index))
        .integer(p.territory + 1)
        .integer(owner)
        .text(fill(rng.pick(vocab::opportunity_names()), {{"product", product.name}, {"n", to_string(rng.between(1, 4))}}))
        .raw(stage_names[stage])
        .raw(money(cents))
        .raw(format_date(close_day));
    optional_text(row, 0, vocab::meddpicc_metrics());
    optional_text(row, 1, vocab::meddpicc_economic_buyers());
    optional_text(row, 2, vocab::meddpicc_decision_criteria());
    optional_text(row, 2, vocab::meddpicc_decision_processes());
    optional_text(row, 3, vocab::meddpicc_paper_processes());
    optional_text(row, 0, vocab::meddpicc_pains());
    optional_text(row, 1, vocab::meddpicc_champions());
    optional_text(row, 3, vocab::meddpicc_competition());
    row.raw(format_timestamp(updated_at)).end();
  }

  void write_kpi(std::int64_t i, std::string& out) const {
    const std::int64_t rep_index = i / 12;
    const int month = static_cast<int>(i % 12);  // 11 is the anchor's month
    const bool manager = rep_index < counts_.regions;
    demo_random rng(opts_.seed, s_kpi, static_cast<std::uint64_t>(i));
    const std::int64_t first_day = month_start(opts_.anchor_day, month - 11);

    const std::int64_t planned = manager ? rng.between(20, 40) : rng.between(80, 120);
    std::int64_t done = planned * rng.between(70, 105) / 100;
    std::int64_t new_accounts = rng.between(0, 6);
    std::int64_t updated_day = month_start(opts_.anchor_day, month - 10);  // the ETL run after month end
    if (month == 11) {
      // The month is under way: only the days so far count.
      const civil_date today = civil_from_days(opts_.anchor_day);
      const std::int64_t elapsed = today.day;
      const std::int64_t length = days_in_month(today.year, today.month);
      done = done * elapsed / length;
      new_accounts = new_accounts * elapsed / length;
      updated_day = opts_.anchor_day;
    }
    const std::int64_t samples = done * rng.between(80, 200) / 100;
    const std::int64_t revenue = done * rng.between(300, 1500) * 100 + rng.between(0, 99);

    copy_row(out)
        .integer(rep_index + 1)
        .raw(format_date(first_day))
        .integer(planned)
        .integer(done)
        .integer(samples)
        .integer(new_accounts)
        .raw(money(revenue))
        .raw(format_timestamp(updated_day * seconds_per_day + 2 * 3600))
        .end();
  }

  demo_generator_options opts_;
  demo_counts counts_;
  std::int64_t field_reps_ = 0;
  std::vector<std::size_t> city_rotation_;
};

std::string_view demo_table_name(demo_table t) {
  switch (t) {
    case demo_table::territories: return "territories";
    case demo_table::reps: return "reps";
    case demo_table::accounts: return "accounts";
    case demo_table::visits: return "visits";
    case demo_table::opportunities: return "opportunities";
    case demo_table::kpis: return "kpis";
  }
  return "?";
}

std::string_view demo_copy_sql(demo_table t) {
  switch (t) {
    case demo_table::territories:
      return "COPY public.territories (id, name, region, country) FROM STDIN";
    case demo_table::reps:
      return "COPY public.reps (id, territory_id, name, email, role, region) FROM STDIN";
    case demo_table::accounts:
      return "COPY public.accounts (id, territory_id, kind, name, specialty, city, postal_code, phone, tags, "
             "segment, updated_at) FROM STDIN";
    case demo_table::visits:
      return "COPY public.visits (id, account_id, rep_id, territory_id, visited_at, channel, products_discussed, "
             "samples_left, notes, next_steps, updated_at) FROM STDIN";
    case demo_table::opportunities:
      return "COPY public.opportunities (id, account_id, territory_id, owner_rep_id, name, stage, amount, "
             "close_date, metrics, economic_buyer, decision_criteria, decision_process, paper_process, "
             "identify_pain, champion, competition, updated_at) FROM STDIN";
    case demo_table::kpis:
      return "COPY public.kpis (rep_id, month, calls_planned, calls_done, samples_given, new_accounts, revenue, "
             "updated_at) FROM STDIN";
  }
  return {};
}

std::int64_t demo_counts::rows(demo_table t) const noexcept {
  switch (t) {
    case demo_table::territories: return territories;
    case demo_table::reps: return reps;
    case demo_table::accounts: return accounts;
    case demo_table::visits: return visits;
    case demo_table::opportunities: return opportunities;
    case demo_table::kpis: return kpis;
  }
  return 0;
}

demo_counts demo_counts_for(double scale) {
  if (!(scale > 0.0) || !(scale <= demo_max_scale)) {
    throw std::invalid_argument("demo scale must be in (0, " + std::to_string(static_cast<int>(demo_max_scale)) +
                                "], got " + std::to_string(scale));
  }
  demo_counts c;
  c.territories = scaled(60, scale, 1);
  c.regions = std::min<std::int64_t>(static_cast<std::int64_t>(vocab::regions().size()), c.territories);
  // Every territory gets a rep, every region its manager.
  c.reps = scaled(600, scale, c.regions + c.territories);
  c.accounts = scaled(100'000, scale, 1);
  c.visits = scaled(500'000, scale, 1);
  c.opportunities = scaled(20'000, scale, 1);
  c.kpis = c.reps * 12;
  return c;
}

demo_table_stream::demo_table_stream(demo_table t, const demo_generator_options& opts)
    : world_(std::make_shared<const demo_world>(opts)), table_(t), total_rows_(world_->counts().rows(t)) {}

bool demo_table_stream::next_chunk(std::string& out) {
  out.clear();
  if (next_row_ >= total_rows_) return false;
  out.reserve(chunk_bytes + 4096);
  while (next_row_ < total_rows_ && out.size() < chunk_bytes) world_->write_row(table_, next_row_++, out);
  return true;
}

}  // namespace fieldsync::storage
