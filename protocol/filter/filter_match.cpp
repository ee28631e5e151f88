#include "protocol/filter/filter_match.hpp"

#include "protocol/filter/filter_like.hpp"

#include <algorithm>

namespace fieldsync::protocol {

namespace {

using bk = bound_node::kind;

class evaluator {
 public:
  evaluator(const bound_filter& f, const boost::json::object& row) noexcept : f_(f), row_(row) {}

  filter_truth node(const bound_node& n) noexcept {
    switch (n.k) {
      case bk::constant:
        return n.truth;
      case bk::and_:
      case bk::or_: {
        const bool is_and = n.k == bk::and_;
        const filter_truth decides = is_and ? filter_truth::false_ : filter_truth::true_;
        bool unknown = false;
        for (const auto& c : n.children) {
          const filter_truth t = node(c);
          if (t == decides) return decides;
          if (t == filter_truth::unknown) unknown = true;
        }
        if (unknown) return filter_truth::unknown;
        return is_and ? filter_truth::true_ : filter_truth::false_;
      }
      case bk::not_: {
        const filter_truth t = node(n.children[0]);
        if (t == filter_truth::unknown) return t;
        return t == filter_truth::true_ ? filter_truth::false_ : filter_truth::true_;
      }
      case bk::compare: {
        const auto d = f_.columns[n.column].domain;
        const auto v = read(n.column, d);
        if (v.k == filter_value::kind::null_) return filter_truth::unknown;
        return of(holds(n.op, compare(d, v, n.values[0])));
      }
      case bk::in_set: {
        const auto d = f_.columns[n.column].domain;
        const auto v = read(n.column, d);
        if (v.k == filter_value::kind::null_) return filter_truth::unknown;
        const auto it = std::lower_bound(n.values.begin(), n.values.end(), v,
                                         [d](const filter_value& a, const filter_value_view& b) {
                                           return compare(d, a, b) < 0;
                                         });
        filter_truth t = filter_truth::false_;
        if (it != n.values.end() && compare(d, *it, v) == 0) {
          t = filter_truth::true_;
        } else if (n.set_has_null) {
          t = filter_truth::unknown;
        }
        if (!n.negated || t == filter_truth::unknown) return t;
        return t == filter_truth::true_ ? filter_truth::false_ : filter_truth::true_;
      }
      case bk::is_null: {
        const bool null = raw(n.column) == nullptr;
        return of(null != n.negated);
      }
      case bk::like: {
        // LIKE sees a character(n) value with its padding, as PostgreSQL's bpchar LIKE does.
        const auto v = read(n.column, filter_domain::text);
        if (v.k == filter_value::kind::null_) return filter_truth::unknown;
        if (!n.pattern) return filter_truth::unknown;  // never made so by bind_filter
        return of(n.pattern->match(v.text) != n.negated);
      }
      case bk::truth: {
        const auto v = read(n.column, filter_domain::boolean);
        if (v.k == filter_value::kind::null_) return filter_truth::unknown;
        return of(v.boolean);
      }
    }
    return filter_truth::unknown;
  }

 private:
  static filter_truth of(bool b) noexcept { return b ? filter_truth::true_ : filter_truth::false_; }

  static bool holds(filter_op op, int c) noexcept {
    switch (op) {
      case filter_op::eq:
        return c == 0;
      case filter_op::ne:
        return c != 0;
      case filter_op::lt:
        return c < 0;
      case filter_op::le:
        return c <= 0;
      case filter_op::gt:
        return c > 0;
      case filter_op::ge:
        return c >= 0;
    }
    return false;
  }

  const boost::json::value* raw(std::uint32_t column) const noexcept {
    const auto it = row_.find(f_.columns[column].column.name);
    if (it == row_.end() || it->value().is_null()) return nullptr;
    return &it->value();
  }

  filter_value_view read(std::uint32_t column, filter_domain d) noexcept {
    const auto* v = raw(column);
    if (!v) return {};
    return read_row_value(d, *v, scratch_);
  }

  const bound_filter& f_;
  const boost::json::object& row_;
  filter_scratch scratch_;
};

}  // namespace

filter_truth evaluate(const bound_filter& filter, const boost::json::object& row) noexcept {
  return evaluator(filter, row).node(filter.root);
}

}  // namespace fieldsync::protocol
