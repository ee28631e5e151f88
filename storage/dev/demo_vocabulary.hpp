#pragma once
// The words the demo data is made of: a European pharmaceutical field-sales organisation
// (regions, countries, cities, people's names, a fictional product portfolio, call-report
// phrases). Plain constant data; the generator (storage/demo_generator) picks from it.
//
// Names are deliberately varied (umlauts, accents, apostrophes, spaces) and some phrases
// hold quotes, tabs, line breaks and backslashes, so the demo exercises every escaping
// path from COPY to the clients.

#include <cstddef>
#include <span>
#include <string_view>

namespace fieldsync::storage::demo_vocabulary {

using words = std::span<const std::string_view>;

struct language {
  words first_names;
  words last_names;
  std::string_view pharmacy_word;  // "Apotheke", "Pharmacie", ...
  words pharmacy_suffixes;         // "am Markt", "du Centre", ...
};

struct country {
  std::string_view code;           // ISO 3166-1 alpha-2
  std::string_view phone_prefix;   // "+49"
  std::string_view postal_format;  // '#' a digit, 'A' a capital letter, anything else as is
  std::size_t language;            // index into languages()
  words cities;
};

struct region {
  std::string_view name;
  std::span<const std::size_t> countries;  // indexes into countries()
};

// Specialties of doctors; index 0 is general practice.
enum class specialty : std::size_t {
  general_practice,
  cardiology,
  oncology,
  endocrinology,
  pulmonology,
  neurology,
  rheumatology,
  dermatology,
};
inline constexpr std::size_t specialty_count = 8;

struct product {
  std::string_view name;
  std::string_view molecule;  // what the generic competition is called
  // Bit i set: relevant for specialty i.
  unsigned specialties;
};

std::span<const language> languages();
std::span<const country> countries();
std::span<const region> regions();
std::string_view specialty_name(specialty s);
std::span<const unsigned> specialty_weights();
std::span<const product> products();

words hospital_patterns();   // "{city} University Hospital", ...
words saints();
words account_tags();
words visit_notes();         // placeholders {product}, {contact}, {specialty}, {n}, {year}
words next_steps();
words opportunity_names();   // {product}
words meddpicc_metrics();    // {n}
words meddpicc_economic_buyers();  // {first}, {last}
words meddpicc_decision_criteria();
words meddpicc_decision_processes();
words meddpicc_paper_processes();
words meddpicc_pains();
words meddpicc_champions();  // {first}, {last}, {specialty}
words meddpicc_competition();  // {molecule}

}  // namespace fieldsync::storage::demo_vocabulary
