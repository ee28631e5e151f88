#include "conflicts/canonical_value.hpp"

#include "protocol/decimal.hpp"
#include "protocol/json_parse.hpp"

#include <algorithm>
#include <vector>

namespace fieldsync::conflicts {

using protocol::decimal;

namespace {

void append_string(std::string& out, std::string_view s) {
  // Length-prefixed, so no byte inside needs escaping for the form to stay injective.
  out.push_back('"');
  out += std::to_string(s.size());
  out.push_back(':');
  out.append(s.data(), s.size());
}

void append_decimal(std::string& out, const decimal& d) {
  out.push_back('#');
  out += d.normalized().to_string();
}

void append_double(std::string& out, double v) {
  if (auto d = decimal::from_double(v)) return append_decimal(out, *d);
  // Only programmatically built values hold these; the parser never produces them.
  out += v != v ? "#NaN" : v > 0 ? "#Infinity" : "#-Infinity";
}

// How a column type's strings compare: numeric and integer columns hold decimals as text
// (values a double cannot hold), jsonb columns hold documents as text (two spellings of one
// document are one value: key order and spacing do not count, as in jsonb's equality).
enum class strings_are { text, decimals, documents };

void append_canonical(std::string& out, const boost::json::value& v, strings_are strings) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64:
      return append_decimal(out, decimal::from_int(v.get_int64()));
    case boost::json::kind::uint64:
      return append_decimal(out, decimal::from_uint(v.get_uint64()));
    case boost::json::kind::double_:
      return append_double(out, v.get_double());
    case boost::json::kind::string: {
      std::string_view s = v.get_string();
      if (strings == strings_are::decimals) {
        if (auto d = decimal::parse(s)) return append_decimal(out, *d);
      } else if (strings == strings_are::documents) {
        if (auto doc = protocol::parse_json_exact(s, protocol::max_stored_row_depth)) {
          out.push_back('$');
          return append_canonical(out, *doc, strings_are::text);
        }
      }
      return append_string(out, s);
    }
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_canonical(out, e, strings);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(o.size());
      for (const auto& kv : o) members.push_back(&kv);
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out.push_back('{');
      bool first = true;
      for (const auto* kv : members) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, kv->key());
        out.push_back('=');
        // Inside a json/jsonb value a string is text, whatever the column.
        append_canonical(out, kv->value(), strings_are::text);
      }
      out.push_back('}');
      return;
    }
  }
}

strings_are strings_of(const protocol::column_type& type) noexcept {
  using protocol::type_class;
  const type_class cls = type.cls == type_class::array ? type.element : type.cls;
  if (cls == type_class::numeric || cls == type_class::integer) return strings_are::decimals;
  const auto oid = type.cls == type_class::array ? type.element_oid : type.oid;
  if (cls == type_class::json && oid == protocol::oids::jsonb) return strings_are::documents;
  return strings_are::text;
}

}  // namespace

std::string canonical_value(const boost::json::value& v, const protocol::column_type& type) {
  std::string out;
  append_canonical(out, v, strings_of(type));
  return out;
}

bool same_value(const boost::json::value& a, const boost::json::value& b,
                const protocol::column_type& type) {
  // The common cases without building canonical forms.
  if (a.is_string() && b.is_string() && strings_of(type) == strings_are::text) {
    return a.get_string() == b.get_string();
  }
  if (a.kind() != b.kind() && !a.is_number() && !a.is_string()) return false;
  return canonical_value(a, type) == canonical_value(b, type);
}

std::strong_ordering compare_values(const boost::json::value& a, const boost::json::value& b,
                                    const protocol::column_type& type) {
  return canonical_value(a, type).compare(canonical_value(b, type)) <=> 0;
}

protocol::column_type element_type(const protocol::column_type& array_type) noexcept {
  if (array_type.cls != protocol::type_class::array) return array_type;
  protocol::column_type t;
  t.oid = array_type.element_oid;
  t.cls = array_type.element;
  return t;
}

}  // namespace fieldsync::conflicts
