#include "storage/dev/demo_vocabulary.hpp"

#include <array>

namespace fieldsync::storage::demo_vocabulary {

namespace {

using namespace std::string_view_literals;

// --- people -------------------------------------------------------------------------------

constexpr std::array german_first{
    "Anna"sv, "Lukas"sv, "Sophie"sv, "Jonas"sv, "Marie"sv, "Felix"sv, "Laura"sv, "Maximilian"sv,
    "Lena"sv, "Paul"sv, "Katharina"sv, "Tobias"sv, "Julia"sv, "Sebastian"sv, "Hannah"sv, "Jürgen"sv};
constexpr std::array german_last{
    "Müller"sv, "Schmidt"sv, "Schneider"sv, "Fischer"sv, "Weber"sv, "Meyer"sv, "Wagner"sv, "Becker"sv,
    "Schulz"sv, "Hoffmann"sv, "Koch"sv, "Bauer"sv, "Richter"sv, "Klein"sv, "Wolf"sv, "Schröder"sv};
constexpr std::array german_pharmacy{"am Markt"sv, "am Bahnhof"sv, "Mitte"sv, "zum Löwen"sv};

constexpr std::array nordic_first{
    "Erik"sv, "Ingrid"sv, "Lars"sv, "Astrid"sv, "Mikkel"sv, "Freja"sv, "Johan"sv, "Sigrid"sv,
    "Anders"sv, "Maja"sv, "Søren"sv, "Elin"sv, "Mats"sv, "Karin"sv, "Henrik"sv, "Åsa"sv};
constexpr std::array nordic_last{
    "Andersson"sv, "Johansson"sv, "Nielsen"sv, "Hansen"sv, "Larsen"sv, "Karlsson"sv, "Virtanen"sv,
    "Korhonen"sv, "Berg"sv, "Lindqvist"sv, "Jensen"sv, "Pedersen"sv, "Nyström"sv, "Halvorsen"sv,
    "Dahl"sv, "Østergaard"sv};
constexpr std::array nordic_pharmacy{"Centrum"sv, "Hjärtat"sv, "Stjärnan"sv, "Kronan"sv};

constexpr std::array dutch_first{
    "Daan"sv, "Emma"sv, "Sem"sv, "Julia"sv, "Lucas"sv, "Sanne"sv, "Thijs"sv, "Fleur"sv,
    "Bram"sv, "Lotte"sv, "Pieter"sv, "Anouk"sv, "Joost"sv, "Femke"sv, "Wouter"sv, "Maartje"sv};
constexpr std::array dutch_last{
    "de Jong"sv, "Jansen"sv, "de Vries"sv, "van den Berg"sv, "van Dijk"sv, "Bakker"sv, "Janssens"sv,
    "Visser"sv, "Smit"sv, "Meijer"sv, "Peeters"sv, "de Boer"sv, "Mulder"sv, "Maes"sv, "Willems"sv,
    "van der Meer"sv};
constexpr std::array dutch_pharmacy{"Centrum"sv, "De Linde"sv, "Het Anker"sv, "De Gaper"sv};

constexpr std::array french_first{
    "Camille"sv, "Louis"sv, "Chloé"sv, "Hugo"sv, "Léa"sv, "Antoine"sv, "Manon"sv, "Julien"sv,
    "Inès"sv, "Mathieu"sv, "Élodie"sv, "Nicolas"sv, "Aurélie"sv, "Théo"sv, "Margaux"sv, "François"sv};
constexpr std::array french_last{
    "Martin"sv, "Bernard"sv, "Dubois"sv, "Thomas"sv, "Robert"sv, "Richard"sv, "Petit"sv, "Durand"sv,
    "Leroy"sv, "Moreau"sv, "Simon"sv, "Laurent"sv, "Lefèvre"sv, "Michel"sv, "Garcia"sv, "Fournier"sv};
constexpr std::array french_pharmacy{"du Centre"sv, "de la Gare"sv, "des Halles"sv, "du Marché"sv};

constexpr std::array iberian_first{
    "Lucía"sv, "Hugo"sv, "Martina"sv, "Pablo"sv, "Sofía"sv, "Álvaro"sv, "Carmen"sv, "Javier"sv,
    "Inês"sv, "João"sv, "Beatriz"sv, "Diego"sv, "Marta"sv, "Tiago"sv, "Elena"sv, "José"sv};
constexpr std::array iberian_last{
    "García"sv, "Fernández"sv, "González"sv, "Rodríguez"sv, "López"sv, "Martínez"sv, "Sánchez"sv,
    "Pérez"sv, "Silva"sv, "Santos"sv, "Ferreira"sv, "Pereira"sv, "Oliveira"sv, "Costa"sv, "Gómez"sv,
    "Ruiz"sv};
constexpr std::array iberian_pharmacy{"Central"sv, "do Mercado"sv, "Nueva"sv, "San Antonio"sv};

constexpr std::array italian_first{
    "Giulia"sv, "Francesco"sv, "Chiara"sv, "Alessandro"sv, "Sofia"sv, "Lorenzo"sv, "Martina"sv,
    "Matteo"sv, "Federica"sv, "Andrea"sv, "Valentina"sv, "Davide"sv, "Elisa"sv, "Riccardo"sv,
    "Giorgia"sv, "Niccolò"sv};
constexpr std::array italian_last{
    "Rossi"sv, "Russo"sv, "Ferrari"sv, "Esposito"sv, "Bianchi"sv, "Romano"sv, "Colombo"sv, "Ricci"sv,
    "Marino"sv, "Greco"sv, "Bruno"sv, "Gallo"sv, "Conti"sv, "De Luca"sv, "Mancini"sv, "D'Angelo"sv};
constexpr std::array italian_pharmacy{"Centrale"sv, "San Marco"sv, "della Stazione"sv, "Al Duomo"sv};

constexpr std::array<language, 6> language_table{{
    {german_first, german_last, "Apotheke", german_pharmacy},
    {nordic_first, nordic_last, "Apotek", nordic_pharmacy},
    {dutch_first, dutch_last, "Apotheek", dutch_pharmacy},
    {french_first, french_last, "Pharmacie", french_pharmacy},
    {iberian_first, iberian_last, "Farmacia", iberian_pharmacy},
    {italian_first, italian_last, "Farmacia", italian_pharmacy},
}};
enum : std::size_t { german, nordic, dutch, french, iberian, italian };

// --- places -------------------------------------------------------------------------------

constexpr std::array de_cities{"Berlin"sv, "Hamburg"sv, "München"sv, "Köln"sv, "Frankfurt am Main"sv,
                               "Stuttgart"sv, "Düsseldorf"sv, "Leipzig"sv, "Dresden"sv, "Hannover"sv,
                               "Nürnberg"sv, "Bremen"sv};
constexpr std::array at_cities{"Wien"sv, "Graz"sv, "Linz"sv, "Salzburg"sv, "Innsbruck"sv, "Klagenfurt"sv};
constexpr std::array ch_cities{"Zürich"sv, "Basel"sv, "Bern"sv, "Luzern"sv, "St. Gallen"sv, "Winterthur"sv};
constexpr std::array se_cities{"Stockholm"sv, "Göteborg"sv, "Malmö"sv, "Uppsala"sv, "Linköping"sv, "Örebro"sv};
constexpr std::array dk_cities{"København"sv, "Aarhus"sv, "Odense"sv, "Aalborg"sv, "Esbjerg"sv};
constexpr std::array no_cities{"Oslo"sv, "Bergen"sv, "Trondheim"sv, "Stavanger"sv, "Tromsø"sv};
constexpr std::array fi_cities{"Helsinki"sv, "Espoo"sv, "Tampere"sv, "Turku"sv, "Oulu"sv};
constexpr std::array nl_cities{"Amsterdam"sv, "Rotterdam"sv, "Den Haag"sv, "Utrecht"sv, "Eindhoven"sv,
                               "Groningen"sv, "Nijmegen"sv};
constexpr std::array be_cities{"Brussel"sv, "Antwerpen"sv, "Gent"sv, "Leuven"sv, "Brugge"sv, "Liège"sv};
constexpr std::array lu_cities{"Luxembourg"sv, "Esch-sur-Alzette"sv, "Differdange"sv};
constexpr std::array fr_cities{"Paris"sv, "Lyon"sv, "Marseille"sv, "Toulouse"sv, "Nice"sv, "Nantes"sv,
                               "Strasbourg"sv, "Bordeaux"sv, "Lille"sv, "Rennes"sv, "Montpellier"sv,
                               "Grenoble"sv};
constexpr std::array es_cities{"Madrid"sv, "Barcelona"sv, "Valencia"sv, "Sevilla"sv, "Zaragoza"sv,
                               "Málaga"sv, "Bilbao"sv, "A Coruña"sv};
constexpr std::array pt_cities{"Lisboa"sv, "Porto"sv, "Braga"sv, "Coimbra"sv, "Faro"sv};
constexpr std::array it_cities{"Roma"sv, "Milano"sv, "Napoli"sv, "Torino"sv, "Palermo"sv, "Bologna"sv,
                               "Firenze"sv, "Genova"sv, "Bari"sv, "Verona"sv, "Padova"sv, "Catania"sv};

constexpr std::array<country, 14> country_table{{
    {"DE", "+49", "#####", german, de_cities},
    {"AT", "+43", "####", german, at_cities},
    {"CH", "+41", "####", german, ch_cities},
    {"SE", "+46", "### ##", nordic, se_cities},
    {"DK", "+45", "####", nordic, dk_cities},
    {"NO", "+47", "####", nordic, no_cities},
    {"FI", "+358", "#####", nordic, fi_cities},
    {"NL", "+31", "#### AA", dutch, nl_cities},
    {"BE", "+32", "####", dutch, be_cities},
    {"LU", "+352", "L-####", french, lu_cities},
    {"FR", "+33", "#####", french, fr_cities},
    {"ES", "+34", "#####", iberian, es_cities},
    {"PT", "+351", "####-###", iberian, pt_cities},
    {"IT", "+39", "#####", italian, it_cities},
}};

constexpr std::array<std::size_t, 3> dach{0, 1, 2};
constexpr std::array<std::size_t, 4> nordics{3, 4, 5, 6};
constexpr std::array<std::size_t, 3> benelux{7, 8, 9};
constexpr std::array<std::size_t, 1> france{10};
constexpr std::array<std::size_t, 2> iberia{11, 12};
constexpr std::array<std::size_t, 1> italy{13};

constexpr std::array<region, 6> region_table{{
    {"DACH", dach},
    {"Nordics", nordics},
    {"Benelux", benelux},
    {"France", france},
    {"Iberia", iberia},
    {"Italy", italy},
}};

// --- medicine -----------------------------------------------------------------------------

constexpr std::array<std::string_view, specialty_count> specialty_names{
    "general practice", "cardiology", "oncology", "endocrinology",
    "pulmonology", "neurology", "rheumatology", "dermatology"};
constexpr std::array<unsigned, specialty_count> specialty_weight_table{40, 12, 8, 10, 8, 8, 7, 7};

constexpr unsigned bit(specialty s) { return 1u << static_cast<std::size_t>(s); }
constexpr unsigned gp = bit(specialty::general_practice);

// A fictional portfolio: any likeness to real brands is accidental.
constexpr std::array<product, 11> product_table{{
    {"Cardiolex 10 mg", "atorvastatin", gp | bit(specialty::cardiology)},
    {"Cardiolex 20 mg", "atorvastatin", bit(specialty::cardiology)},
    {"Thrombiva 5 mg", "apixaban", gp | bit(specialty::cardiology) | bit(specialty::neurology)},
    {"Glucanta XR 500 mg", "metformin", gp | bit(specialty::endocrinology)},
    {"Insulora pen", "insulin glargine", bit(specialty::endocrinology)},
    {"Oncalyx 100 mg", "imatinib", bit(specialty::oncology)},
    {"Respivair inhaler", "budesonide/formoterol", gp | bit(specialty::pulmonology)},
    {"Neurovance 50 mg", "lacosamide", bit(specialty::neurology)},
    {"Immunora 40 mg pen", "adalimumab", bit(specialty::rheumatology) | bit(specialty::dermatology)},
    {"Dermacort 0.1% cream", "mometasone", gp | bit(specialty::dermatology)},
    {"Ostevia 70 mg", "alendronate", gp | bit(specialty::rheumatology)},
}};

// --- texts --------------------------------------------------------------------------------

constexpr std::array hospital_pattern_table{
    "{city} University Hospital"sv, "{city} General Hospital"sv, "St. {saint} Hospital {city}"sv,
    "{city} Heart Centre"sv, "Clinic {last}"sv, "{city} Cancer Centre"sv};
constexpr std::array saint_table{"Anna"sv, "Josef"sv, "Elisabeth"sv, "Maria"sv, "Lucas"sv, "Vincent"sv};

constexpr std::array tag_table{
    "KOL"sv, "key account"sv, "formulary committee"sv, "teaching hospital"sv, "high potential"sv,
    "new"sv, "speaker"sv, "digital-first"sv, "no samples, please"sv, "says \"call first\""sv,
    "closed Wed pm"sv, "trial site"sv};

constexpr std::array note_table{
    "Presented {product} efficacy data; {contact} asked about side effects in elderly patients."sv,
    "Discussed the new {product} dosing schedule. Interested in the patient support programme."sv,
    "Short call, {contact} busy. Left samples of {product}."sv,
    "Reviewed formulary status of {product}; {contact} prefers the current standard of care for now."sv,
    "Follow-up on last visit:\n- {product}: positive feedback from {n} patients\n- asked for the \"real-world evidence\" study"sv,
    "Invited {contact} to the regional {specialty} symposium."sv,
    "Competitor rep came by last week; {contact} compared {product} with generics on price."sv,
    "Reimbursement question on {product} \u2014 forwarded to market access."sv,
    "Left brochure (ref. MED\\{year}\\{n}) and the updated price list."sv,
    "Patient case: 64 y/o, T2D, switched to {product}\ttolerated well after {n} weeks."sv,
    "Notes typed on the laptop:\r\nstock of {product} low, {contact} will reorder.\r\n"sv,
    "{contact} wants head-to-head data for {product} before prescribing more."sv,
    "Good conversation about adherence; {contact} will try {product} with {n} new patients."sv,
    "Appointment moved twice. Met the practice nurse instead; she'll brief {contact}."sv,
};

constexpr std::array next_step_table{
    "Send the {product} study reprint"sv, "Book a follow-up in 4 weeks"sv, "Invite to the next webinar"sv,
    "Check stock at the local pharmacy"sv, "Bring the market access manager next time"sv,
    "Email the dosing card for {product}"sv, "Ask the MSL to answer the clinical question"sv,
    "Plan a lunch & learn for the whole practice"sv};

constexpr std::array opportunity_name_table{
    "{product} formulary listing"sv, "{product} annual supply tender"sv,
    "{product} hospital protocol inclusion"sv, "Patient support programme for {product}"sv,
    "{product} pharmacy promotion Q{n}"sv, "{product} switch programme"sv};

constexpr std::array metric_table{
    "Reduce readmissions by {n}% within a year"sv, "Cut treatment cost per patient by {n}%"sv,
    "{n} new patients on therapy per quarter"sv, "Raise adherence above {n}0%"sv,
    "Shorten the average stay by {n} days"sv};
constexpr std::array economic_buyer_table{
    "Head of pharmacy {first} {last}"sv, "Medical director Dr. {last}"sv,
    "Procurement lead {first} {last}"sv, "Owner {first} {last}"sv, "CFO {first} {last}"sv};
constexpr std::array decision_criteria_table{
    "Clinical outcomes, price per daily dose, security of supply"sv,
    "Guideline alignment and patient adherence"sv, "Total cost of care over 3 years"sv,
    "Ease of use for nurses; training included"sv, "Budget impact below the annual cap"sv};
constexpr std::array decision_process_table{
    "Pharmacy & therapeutics committee, then procurement sign-off"sv,
    "Department head recommends, CFO approves"sv, "Owner decides after a 3-month trial"sv,
    "Regional health authority review, then hospital board"sv};
constexpr std::array paper_process_table{
    "Regional tender with a 30-day standstill"sv, "Amendment of the framework agreement via legal"sv,
    "Purchase order against the existing contract"sv, "Central purchasing of the pharmacy chain"sv};
constexpr std::array pain_table{
    "High readmission rate of heart-failure patients"sv,
    "Poor adherence to the current twice-daily regimen"sv, "Stock-outs with the current supplier"sv,
    "Rising drug budget, pressure from the payer"sv, "Long waiting list for specialist follow-up"sv,
    "Side effects drive patients to stop therapy"sv};
constexpr std::array champion_table{
    "Dr. {first} {last} ({specialty})"sv, "{first} {last}, senior pharmacist"sv,
    "{first} {last}, head nurse"sv, "Dr. {last}, chief of {specialty}"sv};
constexpr std::array competition_table{
    "Generic {molecule}"sv, "Competitor biosimilar"sv, "Status quo: no change"sv,
    "Other brand of {molecule}"sv, "Budget going to devices instead"sv};

}  // namespace

std::span<const language> languages() { return language_table; }
std::span<const country> countries() { return country_table; }
std::span<const region> regions() { return region_table; }
std::string_view specialty_name(specialty s) { return specialty_names[static_cast<std::size_t>(s)]; }
std::span<const unsigned> specialty_weights() { return specialty_weight_table; }
std::span<const product> products() { return product_table; }

words hospital_patterns() { return hospital_pattern_table; }
words saints() { return saint_table; }
words account_tags() { return tag_table; }
words visit_notes() { return note_table; }
words next_steps() { return next_step_table; }
words opportunity_names() { return opportunity_name_table; }
words meddpicc_metrics() { return metric_table; }
words meddpicc_economic_buyers() { return economic_buyer_table; }
words meddpicc_decision_criteria() { return decision_criteria_table; }
words meddpicc_decision_processes() { return decision_process_table; }
words meddpicc_paper_processes() { return paper_process_table; }
words meddpicc_pains() { return pain_table; }
words meddpicc_champions() { return champion_table; }
words meddpicc_competition() { return competition_table; }

}  // namespace fieldsync::storage::demo_vocabulary
