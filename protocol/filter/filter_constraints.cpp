#include "protocol/filter/filter_constraints.hpp"

namespace fieldsync::protocol {

namespace {

using bk = bound_node::kind;

void collect(const bound_filter& f, const bound_node& n, std::vector<equality_constraint>& out) {
  switch (n.k) {
    case bk::compare:
    case bk::in_set: {
      if (n.k == bk::compare && n.op != filter_op::eq) return;
      if (n.k == bk::in_set && n.negated) return;
      const auto& c = f.columns[n.column];
      equality_constraint e{c.column.name, {}};
      // in_set values are distinct already; equal keys mean equal values.
      for (const auto& v : n.values) e.keys.push_back(equality_key(c.domain, v));
      out.push_back(std::move(e));
      return;
    }
    case bk::truth: {
      filter_value_view t;
      t.k = filter_value::kind::boolean;
      t.boolean = true;
      out.push_back({f.columns[n.column].column.name, {equality_key(filter_domain::boolean, t)}});
      return;
    }
    default:
      return;
  }
}

}  // namespace

std::vector<equality_constraint> equality_constraints(const bound_filter& filter) {
  std::vector<equality_constraint> out;
  if (filter.root.k == bk::and_) {
    for (const auto& c : filter.root.children) collect(filter, c, out);
  } else {
    collect(filter, filter.root, out);
  }
  return out;
}

std::optional<std::string> equality_key(const column_type& type, const boost::json::value& value) {
  const filter_domain d = domain_of(type);
  if (d == filter_domain::none || value.is_null()) return std::nullopt;
  filter_scratch scratch;
  const auto v = read_row_value(d, value, scratch);
  if (v.k == filter_value::kind::null_) return std::nullopt;
  return equality_key(d, v);
}

}  // namespace fieldsync::protocol
