#pragma once
// Helpers for the merge module's tests: JSON literals, clocks, a seeded generator whose
// output is the same with every standard library (mt19937_64 is fully specified; the
// std::uniform_*_distribution mappings are not), and a model of a server applying mutations
// in turn, for the arrival-order properties.

#include "conflicts/hlc.hpp"
#include "conflicts/merge_config.hpp"
#include "conflicts/row_merge.hpp"
#include "conflicts/strategy_registry.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include "conflicts/field_merge.hpp"

#include <ostream>

// Printers for Catch's messages (boost::system::result prints its value with <<).
namespace fieldsync::conflicts {

inline std::ostream& operator<<(std::ostream& os, const hlc& c) { return os << c.to_string(); }
inline std::ostream& operator<<(std::ostream& os, const merged_field& f) {
  return os << boost::json::serialize(f.value) << " (rule " << static_cast<int>(f.resolution)
            << ")";
}
inline std::ostream& operator<<(std::ostream& os, const row_merge_result& r) {
  return os << "outcome " << static_cast<int>(r.outcome) << ", action "
            << static_cast<int>(r.action) << ", row " << boost::json::serialize(r.row)
            << ", reason " << r.reason.message();
}

}  // namespace fieldsync::conflicts

namespace fieldsync::conflicts::test {

inline boost::json::value j(std::string_view text) { return boost::json::parse(text); }
inline boost::json::object row(std::string_view text) { return boost::json::parse(text).as_object(); }

inline hlc clock(std::int64_t ms, std::uint32_t counter, std::string_view node) {
  return hlc::make(ms, counter, node).value();
}

// Column types by class (describe_type() lives with the value codec; these tests need only
// the classes).
inline protocol::column_type type_of(protocol::type_class cls,
                                     protocol::type_class element = protocol::type_class::other) {
  protocol::column_type t;
  t.cls = cls;
  t.element = element;
  return t;
}

inline const strategy_registry& builtins() {
  static const strategy_registry r = strategy_registry::builtin();
  return r;
}

class rng {
 public:
  explicit rng(std::uint64_t seed) : g_(seed) {}
  std::uint64_t below(std::uint64_t n) { return g_() % n; }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
    // In unsigned arithmetic: the full int64 range does not fit a signed difference.
    std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    std::uint64_t offset = span == UINT64_MAX ? g_() : below(span + 1);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset);
  }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T>
  const T& pick(std::initializer_list<T> items) {
    return items.begin()[below(items.size())];
  }

 private:
  std::mt19937_64 g_;
};

// The state of one row on the server, as the mutation path keeps it.
struct server_row {
  boost::json::object row;
  writer last_writer;
  std::optional<std::map<std::string, hlc, std::less<>>> field_clocks;
};

struct mutation {
  boost::json::object changes;
  boost::json::object base;
  writer client;
};

// Merges an update into the row and stores the outcome as the mutation path would.
inline server_row apply(const merge_config& config, const server_row& s, const mutation& m,
                        const protocol::collection_schema* schema = nullptr) {
  row_merge_input in;
  in.op = protocol::change_op::update;
  in.changes = m.changes;
  in.base = m.base;
  in.current = s.row;
  in.client = m.client;
  in.server = s.last_writer;
  in.server_field_clocks = s.field_clocks;
  in.schema = schema;
  auto r = merge_row(config, builtins(), in);
  if (!r) throw std::runtime_error("merge_row failed: " + r.error().message());
  if (r->action == row_action::none) return s;
  server_row next{r->row, writer{r->row_clock, m.client.client_id}, s.field_clocks};
  if (next.field_clocks) {
    for (const auto& [field, c] : r->field_clocks) next.field_clocks->insert_or_assign(field, c);
  }
  return next;
}

}  // namespace fieldsync::conflicts::test
