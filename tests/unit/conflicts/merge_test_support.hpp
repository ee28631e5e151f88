#pragma once
// Helpers for the merge module's tests: JSON literals, clocks, the seeded generator
// (tests/unit/seeded_rng.hpp), and a model of a server applying mutations in turn, for the
// arrival-order properties.

#include "conflicts/hlc.hpp"
#include "conflicts/merge_config.hpp"
#include "conflicts/row_merge.hpp"
#include "conflicts/strategy_registry.hpp"

#include "tests/unit/seeded_rng.hpp"

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

inline std::ostream& operator<<(std::ostream& os, const hlc& c) {
  return os << c.to_string();
}
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

inline boost::json::value j(std::string_view text) {
  return boost::json::parse(text);
}
inline boost::json::object row(std::string_view text) {
  return boost::json::parse(text).as_object();
}

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

using fieldsync::test::rng;

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
  if (r->outcome == row_outcome::rejected) return s;
  writer last = s.last_writer;
  if (r->row_clock) last = writer{r->row_clock, r->row_clock->node()};
  server_row next{r->row, last, s.field_clocks};
  if (next.field_clocks) {
    for (const auto& [field, c] : r->field_clocks) next.field_clocks->insert_or_assign(field, c);
  }
  return next;
}

// Runs the frame for one field with a registered strategy. base nullptr: absent.
inline boost::system::result<merged_field> merge_one(std::string_view strategy, const char* base,
                                                     std::string_view client,
                                                     std::string_view server,
                                                     const writer& client_writer = {},
                                                     const writer& server_writer = {},
                                                     const protocol::column_type& type = {}) {
  const merge_strategy* s = builtins().find(strategy);
  if (!s) throw std::invalid_argument("no strategy " + std::string(strategy));
  boost::json::value b = base ? j(base) : boost::json::value();
  boost::json::value c = j(client);
  boost::json::value v = j(server);
  field_context ctx{.collection = "test",
                    .field = "f",
                    .type = type,
                    .base = base ? &b : nullptr,
                    .client = &c,
                    .server = &v,
                    .client_writer = &client_writer,
                    .server_writer = &server_writer};
  return merge_field(*s, ctx);
}

// The merged value, or the rejection's reason code.
inline std::string merged_text(const boost::system::result<merged_field>& r) {
  if (!r) return "rejected:" + r.error().message();
  return boost::json::serialize(r->value);
}

// Two concurrent mutations from the same base, arriving in either order.
struct arrival_orders {
  server_row first_then_second;
  server_row second_then_first;
};

inline arrival_orders both_orders(const merge_config& config, const server_row& start,
                                  const mutation& m1, const mutation& m2,
                                  const protocol::collection_schema* schema = nullptr) {
  return {apply(config, apply(config, start, m1, schema), m2, schema),
          apply(config, apply(config, start, m2, schema), m1, schema)};
}

inline merge_config config_with(std::string_view default_strategy) {
  merge_config c;
  c.collection = "test";
  c.default_strategy = std::string(default_strategy);
  return c;
}

}  // namespace fieldsync::conflicts::test
