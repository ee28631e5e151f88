#include "protocol/filter/filter_sql.hpp"

#include <limits>
#include <map>
#include <tuple>

namespace fieldsync::protocol {

namespace {

using bk = bound_node::kind;

struct int_range {
  std::int64_t min, max;
};

class compiler {
 public:
  compiler(const bound_filter& f, const column_sql& column, sql_params& out)
      : f_(f), column_(column), out_(out) {}

  void node(const bound_node& n, std::string& sql) {
    switch (n.k) {
      case bk::constant:
        sql += n.truth == filter_truth::true_    ? "(TRUE)"
               : n.truth == filter_truth::false_ ? "(FALSE)"
                                                 : "(NULL::boolean)";
        return;
      case bk::and_:
      case bk::or_:
        sql += '(';
        for (std::size_t i = 0; i < n.children.size(); ++i) {
          if (i) sql += n.k == bk::and_ ? " AND " : " OR ";
          node(n.children[i], sql);
        }
        sql += ')';
        return;
      case bk::not_:
        sql += "(NOT ";
        node(n.children[0], sql);
        sql += ')';
        return;
      case bk::compare: {
        const auto& c = f_.columns[n.column];
        const std::string type = cast_type(c, n.values);
        sql += '(';
        column(c, sql);
        // Byte order for text, as the C++ evaluator; equality is the same under any
        // deterministic collation, and leaving it alone keeps indexes usable.
        if (is_text(c.domain) && n.op != filter_op::eq && n.op != filter_op::ne) {
          sql += " COLLATE \"C\"";
        }
        sql += ' ';
        sql += to_sql(n.op);
        sql += ' ';
        if (!shared_placeholder(n, type, sql)) {
          placeholder(to_pg_text(c.domain, n.values[0]), type, sql);
        }
        sql += ')';
        return;
      }
      case bk::in_set: {
        const auto& c = f_.columns[n.column];
        sql += n.negated ? "(NOT (" : "(";
        column(c, sql);
        sql += " = ANY(";
        const std::string type = cast_type(c, n.values) + "[]";
        if (!shared_placeholder(n, type, sql)) {
          placeholder(array_text(c.domain, n.values, n.set_has_null), type, sql);
        }
        sql += n.negated ? ")))" : "))";
        return;
      }
      case bk::is_null: {
        const auto& c = f_.columns[n.column];
        sql += '(';
        column(c, sql);
        // A composite value whose fields are all NULL IS NULL in SQL but is a value to the
        // evaluator (its text, "(,)"); as text it is not NULL either.
        if (c.domain == filter_domain::none && c.column.type.cls == type_class::other) {
          sql += "::text";
        }
        sql += n.negated ? " IS NOT NULL)" : " IS NULL)";
        return;
      }
      case bk::like: {
        const auto& c = f_.columns[n.column];
        sql += '(';
        column(c, sql);
        sql += n.negated ? " NOT LIKE " : " LIKE ";
        if (!shared_placeholder(n, "text", sql)) placeholder(n.values[0].text, "text", sql);
        sql += ')';
        return;
      }
      case bk::truth:
        sql += '(';
        column(f_.columns[n.column], sql);
        sql += ')';
        return;
    }
  }

 private:
  static bool is_text(filter_domain d) noexcept {
    return d == filter_domain::text || d == filter_domain::bpchar;
  }

  // Integer columns of types other than int2, int4 and int8 (oid) compare as int8.
  static bool widened(const bound_column& c) noexcept {
    const auto oid = c.column.type.oid;
    return c.domain == filter_domain::integer && oid != oids::int2 && oid != oids::int4 &&
           oid != oids::int8;
  }

  void column(const bound_column& c, std::string& sql) {
    sql += '(';
    sql += column_(c.column);
    sql += ')';
    if (widened(c)) sql += "::int8";
  }

  static int_range range_of(const bound_column& c) noexcept {
    if (c.column.type.oid == oids::int2) return {-32768, 32767};
    if (c.column.type.oid == oids::int4) return {-2147483648LL, 2147483647LL};
    return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
  }

  // The type the placeholder is cast to: the column's own type, so PostgreSQL compares with
  // the column's semantics and can use its indexes. Integer columns compared with a value
  // their type cannot hold (1.5, or 10^10 for an int4) compare as numeric instead, which is
  // exact, rather than failing on the cast.
  static std::string cast_type(const bound_column& c, const filter_value_list& values) {
    switch (c.domain) {
      case filter_domain::boolean:
        return "bool";
      case filter_domain::integer: {
        const auto r = range_of(c);
        for (const auto& v : values) {
          if (v.k != filter_value::kind::integer || v.integer < r.min || v.integer > r.max) {
            return "numeric";
          }
        }
        if (widened(c)) return "int8";
        return c.column.type.oid == oids::int2   ? "int2"
               : c.column.type.oid == oids::int4 ? "int4"
                                                 : "int8";
      }
      case filter_domain::numeric:
        return "numeric";
      case filter_domain::float4:
        return "float4";
      case filter_domain::float8:
        return "float8";
      case filter_domain::text:
        return "text";
      case filter_domain::bpchar:
        return "bpchar";
      case filter_domain::uuid:
        return "uuid";
      case filter_domain::date:
        return "date";
      case filter_domain::time:
        return "time";
      case filter_domain::timestamp:
        return "timestamp";
      case filter_domain::timestamptz:
        return "timestamptz";
      case filter_domain::none:
        break;
    }
    return "text";
  }

  // A PostgreSQL array literal: every element double-quoted (so no element text is read as
  // NULL or as syntax), backslash before '"' and '\'.
  static std::string array_text(filter_domain d, const filter_value_list& values, bool with_null) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i) out += ',';
      out += '"';
      for (char ch : to_pg_text(d, values[i])) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
      }
      out += '"';
    }
    if (with_null) out += values.empty() ? "NULL" : ",NULL";
    out += '}';
    return out;
  }

  // Tests that share their values (one $n used several times) share one bind parameter, so
  // the parameters' size does not grow with the uses either. The next placeholder() is
  // remembered under the node's values when this returns false.
  bool shared_placeholder(const bound_node& n, const std::string& type, std::string& sql) {
    if (n.values.identity() == nullptr) return false;
    const auto key = std::make_tuple(n.values.identity(), n.k, n.set_has_null, type);
    const auto it = shared_.find(key);
    if (it == shared_.end()) {
      shared_.emplace(key, out_.offset + out_.values.size() + 1);
      return false;
    }
    placeholder_text(it->second, type, sql);
    return true;
  }

  void placeholder(std::string value, const std::string& type, std::string& sql) {
    out_.values.push_back(std::move(value));
    placeholder_text(out_.offset + out_.values.size(), type, sql);
  }

  static void placeholder_text(std::size_t number, const std::string& type, std::string& sql) {
    sql += '$';
    sql += std::to_string(number);
    sql += "::";
    sql += type;
  }

  using shared_key = std::tuple<const void*, bound_node::kind, bool, std::string>;
  std::map<shared_key, std::size_t> shared_;

  const bound_filter& f_;
  const column_sql& column_;
  sql_params& out_;
};

}  // namespace

std::string compile_sql(const bound_filter& filter, const column_sql& column, sql_params& out) {
  std::string sql;
  compiler(filter, column, out).node(filter.root, sql);
  return sql;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace fieldsync::protocol
