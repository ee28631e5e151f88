#include "protocol/filter/filter_check.hpp"

#include "protocol/filter/filter_like.hpp"
#include "protocol/filter/filter_parser.hpp"
#include "protocol/filter/filter_value.hpp"

#include <utility>

namespace fieldsync::protocol {

namespace {

using nk = filter_node::kind;
using ok = filter_operand::kind;

filter_error error(filter_errc code, std::size_t at, std::string message) {
  return filter_error{code, at, std::move(message)};
}

std::string type_name(const column_schema& c) {
  if (!c.type.name.empty()) return std::string(c.type.name);
  return domain_name(domain_of(c.type));
}

std::string literal_kind(const filter_operand& o) {
  switch (o.k) {
    case ok::boolean:
      return "a boolean";
    case ok::number:
      return "a number";
    case ok::string:
      return "a string";
    default:
      return "NULL";
  }
}

class checker {
 public:
  checker(const collection_schema& schema, checked_filter& out) : schema_(schema), out_(out) {}

  filter_result<void> node(filter_node& n) {
    switch (n.k) {
      case nk::and_:
      case nk::or_:
      case nk::not_:
        for (auto& c : n.children) {
          if (auto r = node(c); !r) return r;
        }
        return {};
      case nk::compare:
        return compare(n);
      case nk::in_list:
        return in_list(n);
      case nk::any:
        return any(n);
      case nk::is_null:
        return resolve(n.operands[0]);
      case nk::like:
        return like(n);
      case nk::value:
        return value(n);
    }
    return {};
  }

 private:
  filter_result<void> resolve(filter_operand& o) {
    if (!o.is_column()) return {};
    const column_schema* c = schema_.find(o.text);
    if (!c) {
      return error(filter_errc::unknown_column, o.position,
                   "unknown column \"" + o.text + "\" in collection \"" + schema_.name + "\"");
    }
    for (std::size_t i = 0; i < out_.columns.size(); ++i) {
      if (out_.columns[i].name == c->name) {
        o.column = static_cast<std::uint32_t>(i);
        return {};
      }
    }
    o.column = static_cast<std::uint32_t>(out_.columns.size());
    out_.columns.push_back(*c);
    return {};
  }

  const column_schema& column_of(const filter_operand& o) const { return out_.columns[o.column]; }

  // The column's domain, or an error if it can only be tested with IS [NULL].
  filter_result<filter_domain> comparable(const filter_operand& col) {
    const auto& c = column_of(col);
    const filter_domain d = domain_of(c.type);
    if (d == filter_domain::none) {
      return error(filter_errc::unsupported, col.position,
                   "column \"" + c.name + "\" (" + type_name(c) +
                       ") can only be tested with IS NULL or IS NOT NULL");
    }
    return d;
  }

  filter_result<void> literal_fits(const filter_operand& col, filter_domain d,
                                   const filter_operand& lit) {
    if (!lit.is_literal()) return {};
    auto v = value_from_literal(d, lit);
    if (!v) {
      auto e = v.error();
      e.position = lit.position;
      e.message = "column \"" + column_of(col).name + "\" (" + type_name(column_of(col)) +
                  "): " + e.message;
      return e;
    }
    return {};
  }

  // Two literals without a column compare only when they are of one kind (or one is NULL).
  static filter_result<void> literals_fit(const filter_operand& a, const filter_operand& b) {
    if (!a.is_literal() || !b.is_literal()) return {};
    const auto da = domain_of_literal(a), db = domain_of_literal(b);
    if (da == filter_domain::none || db == filter_domain::none || da == db) return {};
    return error(filter_errc::type_mismatch, b.position,
                 "cannot compare " + literal_kind(a) + " with " + literal_kind(b));
  }

  filter_result<void> compare(filter_node& n) {
    auto& lhs = n.operands[0];
    auto& rhs = n.operands[1];
    if (auto r = resolve(lhs); !r) return r;
    if (auto r = resolve(rhs); !r) return r;
    if (lhs.is_column() && rhs.is_column()) {
      return error(filter_errc::unsupported, rhs.position,
                   "comparing two columns is not supported: compare a column with a value");
    }
    if (rhs.is_column()) {
      std::swap(lhs, rhs);
      n.op = flip(n.op);
    }
    if (!lhs.is_column()) return literals_fit(lhs, rhs);
    auto d = comparable(lhs);
    if (!d) return d.error();
    return literal_fits(lhs, *d, rhs);
  }

  filter_result<void> in_list(filter_node& n) {
    auto& lhs = n.operands[0];
    if (auto r = resolve(lhs); !r) return r;
    if (!lhs.is_column()) {
      for (std::size_t i = 1; i < n.operands.size(); ++i) {
        if (auto r = literals_fit(lhs, n.operands[i]); !r) return r;
      }
      return {};
    }
    auto d = comparable(lhs);
    if (!d) return d.error();
    for (std::size_t i = 1; i < n.operands.size(); ++i) {
      if (auto r = literal_fits(lhs, *d, n.operands[i]); !r) return r;
    }
    return {};
  }

  filter_result<void> any(filter_node& n) {
    auto& lhs = n.operands[0];
    if (auto r = resolve(lhs); !r) return r;
    if (lhs.is_column()) {
      if (auto d = comparable(lhs); !d) return d.error();
    }
    return {};
  }

  filter_result<void> like(filter_node& n) {
    auto& lhs = n.operands[0];
    const auto& pattern = n.operands[1];
    if (auto r = resolve(lhs); !r) return r;
    if (lhs.is_column()) {
      const filter_domain d = domain_of(column_of(lhs).type);
      if (d != filter_domain::text && d != filter_domain::bpchar) {
        return error(filter_errc::unsupported, n.position,
                     "LIKE needs a text column; \"" + column_of(lhs).name + "\" is " +
                         type_name(column_of(lhs)));
      }
    } else if (lhs.is_literal() && lhs.k != ok::string && lhs.k != ok::null_) {
      return error(filter_errc::type_mismatch, lhs.position,
                   "LIKE needs a string on its left, not " + literal_kind(lhs));
    }
    if (pattern.is_literal()) {
      if (pattern.k != ok::string && pattern.k != ok::null_) {
        return error(filter_errc::type_mismatch, pattern.position,
                     "a LIKE pattern is a string, not " + literal_kind(pattern));
      }
      if (pattern.k == ok::string && like_pattern_error(pattern.text)) {
        return error(filter_errc::bad_value, pattern.position,
                     "LIKE pattern must not end with an escape character (\\)");
      }
    }
    return {};
  }

  filter_result<void> value(filter_node& n) {
    auto& o = n.operands[0];
    if (auto r = resolve(o); !r) return r;
    if (o.is_column()) {
      if (domain_of(column_of(o).type) != filter_domain::boolean) {
        return error(filter_errc::type_mismatch, o.position,
                     "column \"" + column_of(o).name + "\" (" + type_name(column_of(o)) +
                         ") is not boolean: compare it with a value");
      }
    } else if (o.is_literal() && o.k != ok::boolean && o.k != ok::null_) {
      return error(filter_errc::type_mismatch, o.position,
                   "expected a condition, found " + literal_kind(o));
    }
    return {};
  }

  const collection_schema& schema_;
  checked_filter& out_;
};

}  // namespace

filter_result<checked_filter> check_filter(filter_ast ast, const collection_schema& schema) {
  checked_filter out;
  out.ast = std::move(ast);
  out.collection = schema.name;
  checker c(schema, out);
  if (auto r = c.node(out.ast.root); !r) return r.error();
  return out;
}

filter_result<checked_filter> prepare_filter(std::string_view text, const collection_schema& schema,
                                             const filter_limits& limits) {
  auto ast = parse_filter(text, limits);
  if (!ast) return ast.error();
  return check_filter(std::move(*ast), schema);
}

}  // namespace fieldsync::protocol
