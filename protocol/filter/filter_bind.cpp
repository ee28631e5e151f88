#include "protocol/filter/filter_bound.hpp"

#include "protocol/filter/filter_like.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace fieldsync::protocol {

namespace {

using nk = filter_node::kind;
using bk = bound_node::kind;
using ok = filter_operand::kind;

filter_error error(filter_errc code, std::size_t at, std::string message) {
  return filter_error{code, at, std::move(message)};
}

bound_node constant(filter_truth t) {
  bound_node n;
  n.k = bk::constant;
  n.truth = t;
  return n;
}

filter_truth truth_of(bool b) noexcept {
  return b ? filter_truth::true_ : filter_truth::false_;
}

filter_truth negate(filter_truth t) noexcept {
  switch (t) {
    case filter_truth::true_:
      return filter_truth::false_;
    case filter_truth::false_:
      return filter_truth::true_;
    default:
      return filter_truth::unknown;
  }
}

bool holds(filter_op op, int c) noexcept {
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

std::string operand_name(const filter_operand& o) {
  if (o.k == ok::param) return "$" + std::to_string(o.param);
  if (o.k == ok::claim) return "$claims." + o.text;
  return "the value";
}

class binder {
 public:
  binder(const checked_filter& f, const boost::json::array& params,
         const boost::json::object& claims)
      : filter_(f), params_(params), claims_(claims) {}

  filter_result<bound_filter> run() {
    if (auto counted = count_parameters(filter_.ast.root); !counted) return counted.error();
    auto root = node(filter_.ast.root);
    if (!root) return root.error();
    out_.root = std::move(*root);
    compact();
    return std::move(out_);
  }

 private:
  // The values bound for a $n or $claims in one domain, made at its first use and shared by
  // the others (filter_value_list).
  struct shared_values {
    filter_value_list values;
    bool has_null = false;
    std::shared_ptr<const like_pattern> pattern;
  };
  enum class use : char { scalar = 's', set = 'a', like = 'l' };
  static std::string share_key(const filter_operand& o, filter_domain d, use u) {
    return operand_name(o) + '\0' + static_cast<char>(d) + static_cast<char>(u);
  }

  // ---- the limits on parameters ----

  // Roughly the bytes of a JSON value as text; stops counting once past `cap`.
  static std::size_t json_bytes(const boost::json::value& v, std::size_t cap) {
    switch (v.kind()) {
      case boost::json::kind::string:
        return v.get_string().size() + 2;
      case boost::json::kind::array: {
        std::size_t n = 2;
        for (const auto& e : v.get_array()) {
          n += json_bytes(e, cap) + 1;
          if (n > cap) break;
        }
        return n;
      }
      case boost::json::kind::object: {
        std::size_t n = 2;
        for (const auto& kv : v.get_object()) {
          n += kv.key().size() + 4 + json_bytes(kv.value(), cap);
          if (n > cap) break;
        }
        return n;
      }
      default:
        return 8;
    }
  }

  // $n values count like the literals they stand for (filter_limits.hpp): each $n's bytes
  // once against max_param_bytes, each use's against max_bound_bytes, and the elements of an
  // ANY($n) array at every use against max_nodes, as an IN list's items do. Counted on the
  // parsed tree, before folding, so the answer does not depend on the values' truth.
  filter_result<void> count_parameters(const filter_node& n) {
    for (std::size_t i = 0; i < n.operands.size(); ++i) {
      const filter_operand& o = n.operands[i];
      if (o.k != ok::param || o.param > params_.size()) continue;
      const auto& limits = filter_.ast.limits;
      const boost::json::value& v = params_[o.param - 1];
      auto [it, first] = param_bytes_.try_emplace(o.param, 0);
      if (first) {
        it->second = json_bytes(v, limits.max_param_bytes);
        param_total_ += it->second;
        if (param_total_ > limits.max_param_bytes) {
          return error(filter_errc::too_large, o.position,
                       operand_name(o) + ": the filter's parameters exceed " +
                           std::to_string(limits.max_param_bytes) + " bytes");
        }
      }
      out_.bound_bytes += it->second;
      if (out_.bound_bytes > limits.max_bound_bytes) {
        return error(filter_errc::too_large, o.position,
                     operand_name(o) + ": the parameters, counted at each use, exceed " +
                         std::to_string(limits.max_bound_bytes) +
                         " bytes (use a large parameter fewer times)");
      }
      if (n.k == nk::any && i == 1 && v.is_array()) {
        nodes_ += v.get_array().size();
        if (nodes_ > limits.max_nodes) {
          return error(filter_errc::too_many_nodes, o.position,
                       operand_name(o) + ": the filter has more than " +
                           std::to_string(limits.max_nodes) +
                           " terms, counting the elements of its arrays at each use");
        }
      }
    }
    for (const auto& c : n.children) {
      if (auto r = count_parameters(c); !r) return r;
    }
    return {};
  }

  // ---- operands ----

  // The JSON behind $n or $claims.NAME; an absent claim is NULL.
  filter_result<const boost::json::value*> json_of(const filter_operand& o) {
    static const boost::json::value null_value;
    if (o.k == ok::param) {
      if (o.param > params_.size()) {
        return error(filter_errc::missing_parameter, o.position,
                     "$" + std::to_string(o.param) + " is not supplied (" +
                         std::to_string(params_.size()) + " parameter" +
                         (params_.size() == 1 ? "" : "s") + " given)");
      }
      return &params_[o.param - 1];
    }
    auto it = claims_.find(o.text);
    return it == claims_.end() ? &null_value : &it->value();
  }

  // An operand that is not a column, in domain d; `context` prefixes error messages.
  filter_result<filter_value> value_of(filter_domain d, const filter_operand& o,
                                       const std::string& context) {
    filter_result<filter_value> v = filter_value{};
    if (o.is_literal()) {
      v = value_from_literal(d, o);
    } else {
      auto j = json_of(o);
      if (!j) return j.error();
      v = value_from_json(d, **j);
    }
    if (!v) {
      auto e = v.error();
      e.position = o.position;
      e.message = context + (o.is_literal() ? "" : operand_name(o) + ": ") + e.message;
      return e;
    }
    return v;
  }

  // The domain a value compares in when no column is involved; none for NULL.
  filter_result<filter_domain> own_domain(const filter_operand& o) {
    if (o.is_literal()) return domain_of_literal(o);
    auto j = json_of(o);
    if (!j) return j.error();
    if ((*j)->is_array() || (*j)->is_object()) {
      return error(filter_errc::type_mismatch, o.position,
                   operand_name(o) + ": expected a single value, not a JSON array or object");
    }
    return domain_of_json(**j);
  }

  std::uint32_t column_index(const filter_operand& o) {
    const column_schema& c = filter_.columns[o.column];
    for (std::size_t i = 0; i < out_.columns.size(); ++i) {
      if (out_.columns[i].column.name == c.name) return static_cast<std::uint32_t>(i);
    }
    out_.columns.push_back(bound_column{c, domain_of(c.type)});
    return static_cast<std::uint32_t>(out_.columns.size() - 1);
  }

  std::string column_context(const filter_operand& col) const {
    const column_schema& c = filter_.columns[col.column];
    const std::string type =
        c.type.name.empty() ? domain_name(domain_of(c.type)) : std::string(c.type.name);
    return "column \"" + c.name + "\" (" + type + "): ";
  }

  // Folding can drop tests whose columns were already registered: keep only the columns
  // the final tree reads, in order of first use.
  void compact() {
    std::vector<bound_column> used;
    std::vector<std::uint32_t> map(out_.columns.size(), 0xffffffff);
    remap(out_.root, used, map);
    out_.columns = std::move(used);
  }

  void remap(bound_node& n, std::vector<bound_column>& used, std::vector<std::uint32_t>& map) {
    switch (n.k) {
      case bk::constant:
        return;
      case bk::and_:
      case bk::or_:
      case bk::not_:
        for (auto& c : n.children) remap(c, used, map);
        return;
      default:
        if (map[n.column] == 0xffffffff) {
          map[n.column] = static_cast<std::uint32_t>(used.size());
          used.push_back(out_.columns[n.column]);
        }
        n.column = map[n.column];
        return;
    }
  }

  // ---- nodes ----

  filter_result<bound_node> node(const filter_node& n) {
    switch (n.k) {
      case nk::and_:
      case nk::or_:
        return chain(n);
      case nk::not_: {
        auto inner = node(n.children[0]);
        if (!inner) return inner;
        if (inner->k == bk::constant) return constant(negate(inner->truth));
        bound_node b;
        b.k = bk::not_;
        b.children.push_back(std::move(*inner));
        return b;
      }
      case nk::compare:
        return compare(n);
      case nk::in_list:
        return in_list(n);
      case nk::any:
        return any(n);
      case nk::is_null:
        return is_null(n);
      case nk::like:
        return like(n);
      case nk::value:
        return truth(n);
    }
    return constant(filter_truth::unknown);
  }

  // AND/OR with SQL's three-valued logic: FALSE decides an AND and TRUE an OR whatever the
  // rest is; the identity (TRUE for AND, FALSE for OR) drops out; UNKNOWN stays.
  filter_result<bound_node> chain(const filter_node& n) {
    const bool is_and = n.k == nk::and_;
    const filter_truth decides = is_and ? filter_truth::false_ : filter_truth::true_;
    const filter_truth identity = negate(decides);
    bound_node b;
    b.k = is_and ? bk::and_ : bk::or_;
    bool has_unknown = false;
    for (const auto& c : n.children) {
      auto child = node(c);
      if (!child) return child;
      if (child->k == bk::constant) {
        if (child->truth == decides) return constant(decides);
        if (child->truth == identity) continue;
        has_unknown = true;
        continue;
      }
      b.children.push_back(std::move(*child));
    }
    if (b.children.empty()) return constant(has_unknown ? filter_truth::unknown : identity);
    if (has_unknown) b.children.push_back(constant(filter_truth::unknown));
    if (b.children.size() == 1) return std::move(b.children.front());
    return b;
  }

  filter_result<bound_node> compare(const filter_node& n) {
    const auto& lhs = n.operands[0];
    const auto& rhs = n.operands[1];
    if (lhs.is_column()) {
      const auto d = domain_of(filter_.columns[lhs.column].type);
      bound_node b;
      b.k = bk::compare;
      b.op = n.op;
      if (const auto* shared = find_shared(rhs, d, use::scalar)) {
        b.values = shared->values;
      } else {
        auto v = value_of(d, rhs, column_context(lhs));
        if (!v) return v.error();
        if (v->is_null()) return constant(filter_truth::unknown);  // col = NULL: never TRUE
        b.values = filter_value_list({std::move(*v)});
        keep_shared(rhs, d, use::scalar, {b.values, false, nullptr});
      }
      b.column = column_index(lhs);
      return b;
    }
    auto d = common_domain(lhs, rhs);
    if (!d) return d.error();
    if (*d == filter_domain::none) return constant(filter_truth::unknown);
    auto a = value_of(*d, lhs, "");
    if (!a) return a.error();
    auto b = value_of(*d, rhs, "");
    if (!b) return b.error();
    return constant(truth_of(holds(n.op, protocol::compare(*d, *a, *b))));
  }

  // The domain two column-less operands compare in: none when either is NULL.
  filter_result<filter_domain> common_domain(const filter_operand& a, const filter_operand& b) {
    auto da = own_domain(a);
    if (!da) return da;
    auto db = own_domain(b);
    if (!db) return db;
    if (*da == filter_domain::none || *db == filter_domain::none) return filter_domain::none;
    if (*da != *db) {
      return error(filter_errc::type_mismatch, b.position,
                   std::string("cannot compare a ") + domain_name(*da) + " value with a " +
                       domain_name(*db) + " value");
    }
    return *da;
  }

  // Sorts and dedupes the non-NULL values of an IN list or ANY array.
  static void make_set(filter_domain d, std::vector<filter_value>& values) {
    std::sort(values.begin(), values.end(), [d](const filter_value& a, const filter_value& b) {
      return protocol::compare(d, a, b) < 0;
    });
    values.erase(std::unique(values.begin(), values.end(),
                             [d](const filter_value& a, const filter_value& b) {
                               return protocol::compare(d, a, b) == 0;
                             }),
                 values.end());
  }

  // x IN (set): TRUE when found, else UNKNOWN if the set held a NULL, else FALSE.
  static filter_truth membership(filter_domain d, const filter_value& x,
                                 const std::vector<filter_value>& set, bool has_null) {
    for (const auto& v : set) {
      if (protocol::compare(d, x, v) == 0) return filter_truth::true_;
    }
    return has_null ? filter_truth::unknown : filter_truth::false_;
  }

  // The bound form of `lhs IN items` (or = ANY); items already converted in the column's
  // domain or, without a column, in the domain of lhs.
  filter_result<bound_node> set_test(const filter_operand& lhs, const filter_node& n,
                                     std::vector<const filter_operand*> item_operands,
                                     const std::vector<const boost::json::value*>& item_json,
                                     const filter_operand& source) {
    filter_domain d = filter_domain::none;
    std::string context;
    filter_value left;
    if (lhs.is_column()) {
      d = domain_of(filter_.columns[lhs.column].type);
      context = column_context(lhs);
    } else {
      auto ld = own_domain(lhs);
      if (!ld) return ld.error();
      d = *ld;
      if (d != filter_domain::none) {
        auto lv = value_of(d, lhs, "");
        if (!lv) return lv.error();
        left = std::move(*lv);
      }
    }
    std::vector<filter_value> values;
    bool has_null = false;
    const std::size_t count = item_operands.empty() ? item_json.size() : item_operands.size();
    for (std::size_t i = 0; i < count; ++i) {
      filter_result<filter_value> v = filter_value{};
      const filter_operand& where = item_operands.empty() ? source : *item_operands[i];
      if (d == filter_domain::none) {
        // NULL IN (...): the answer is UNKNOWN, but the items must still be single values.
        if (!item_operands.empty()) {
          if (auto od = own_domain(where); !od) return od.error();
        } else if (item_json[i]->is_array() || item_json[i]->is_object()) {
          return error(filter_errc::type_mismatch, where.position,
                       operand_name(where) + ": element " + std::to_string(i + 1) +
                           " is not a single value");
        }
        continue;
      }
      if (!item_operands.empty()) {
        if (!lhs.is_column()) {
          auto od = own_domain(where);
          if (!od) return od.error();
          if (*od != filter_domain::none && *od != d) {
            return error(filter_errc::type_mismatch, where.position,
                         std::string("cannot compare a ") + domain_name(d) + " value with a " +
                             domain_name(*od) + " value");
          }
        }
        v = value_of(d, where, context);
      } else {
        if (!lhs.is_column() && domain_of_json(*item_json[i]) != filter_domain::none &&
            domain_of_json(*item_json[i]) != d) {
          return error(filter_errc::type_mismatch, where.position,
                       operand_name(where) + ": element " + std::to_string(i + 1) + " is not a " +
                           domain_name(d) + " value");
        }
        v = value_from_json(d, *item_json[i]);
        if (!v) {
          auto e = v.error();
          e.position = where.position;
          e.message = context + operand_name(where) + ": element " + std::to_string(i + 1) + ": " +
                      e.message;
          return e;
        }
      }
      if (!v) return v.error();
      if (v->is_null()) {
        has_null = true;
      } else {
        values.push_back(std::move(*v));
      }
    }
    if (count == 0)
      return constant(truth_of(n.negated));  // x = ANY('{}') is FALSE, even for NULL x
    if (d == filter_domain::none) return constant(filter_truth::unknown);
    make_set(d, values);
    if (!lhs.is_column()) {
      if (left.is_null()) return constant(filter_truth::unknown);
      const auto t = membership(d, left, values, has_null);
      return constant(n.negated ? negate(t) : t);
    }
    if (values.empty()) return constant(filter_truth::unknown);  // only NULLs
    bound_node b;
    b.k = bk::in_set;
    b.negated = n.negated;
    b.set_has_null = has_null;
    b.column = column_index(lhs);
    b.values = filter_value_list(std::move(values));
    return b;
  }

  filter_result<bound_node> in_list(const filter_node& n) {
    std::vector<const filter_operand*> items;
    for (std::size_t i = 1; i < n.operands.size(); ++i) items.push_back(&n.operands[i]);
    return set_test(n.operands[0], n, std::move(items), {}, n.operands[1]);
  }

  filter_result<bound_node> any(const filter_node& n) {
    const auto& arr = n.operands[1];
    auto j = json_of(arr);
    if (!j) return j.error();
    if ((*j)->is_null()) return constant(filter_truth::unknown);
    if (!(*j)->is_array()) {
      return error(filter_errc::type_mismatch, arr.position,
                   "ANY needs an array; " + operand_name(arr) + " is not one");
    }
    const auto& a = (*j)->get_array();
    if (a.size() > filter_.ast.limits.max_in_list) {
      return error(filter_errc::list_too_long, arr.position,
                   operand_name(arr) + " has " + std::to_string(a.size()) +
                       " elements; ANY takes at most " +
                       std::to_string(filter_.ast.limits.max_in_list));
    }
    const auto& lhs = n.operands[0];
    const auto d =
        lhs.is_column() ? domain_of(filter_.columns[lhs.column].type) : filter_domain::none;
    if (const auto* shared = lhs.is_column() ? find_shared(arr, d, use::set) : nullptr) {
      bound_node b;
      b.k = bk::in_set;
      b.negated = n.negated;
      b.set_has_null = shared->has_null;
      b.column = column_index(lhs);
      b.values = shared->values;
      return b;
    }
    std::vector<const boost::json::value*> items;
    items.reserve(a.size());
    for (const auto& v : a) items.push_back(&v);
    auto b = set_test(lhs, n, {}, items, arr);
    if (b && b->k == bk::in_set)
      keep_shared(arr, d, use::set, {b->values, b->set_has_null, nullptr});
    return b;
  }

  filter_result<bound_node> is_null(const filter_node& n) {
    const auto& o = n.operands[0];
    if (o.is_column()) {
      bound_node b;
      b.k = bk::is_null;
      b.negated = n.negated;
      b.column = column_index(o);
      return b;
    }
    bool null = o.k == ok::null_;
    if (!o.is_literal()) {
      auto j = json_of(o);
      if (!j) return j.error();
      null = (*j)->is_null();
    }
    return constant(truth_of(null != n.negated));
  }

  filter_result<bound_node> like(const filter_node& n) {
    const auto& lhs = n.operands[0];
    const auto& pat = n.operands[1];
    if (lhs.is_column()) {
      if (const auto* shared = find_shared(pat, filter_domain::text, use::like)) {
        bound_node b;
        b.k = bk::like;
        b.negated = n.negated;
        b.column = column_index(lhs);
        b.values = shared->values;
        b.pattern = shared->pattern;
        return b;
      }
    }
    auto pattern = value_of(filter_domain::text, pat, "LIKE pattern: ");
    if (!pattern) return pattern.error();
    std::shared_ptr<const like_pattern> compiled;
    if (!pattern->is_null()) {
      if (like_pattern_error(pattern->text)) {
        return error(filter_errc::bad_value, pat.position,
                     "LIKE pattern must not end with an escape character (\\)");
      }
      const std::size_t max = filter_.ast.limits.max_pattern_bytes;
      auto c = pattern->text.size() <= max ? like_pattern::compile(pattern->text) : std::nullopt;
      if (!c) {
        return error(filter_errc::too_large, pat.position,
                     (pat.is_literal() ? std::string("the LIKE pattern") : operand_name(pat)) +
                         " has " + std::to_string(pattern->text.size()) +
                         " bytes; a LIKE pattern has at most " + std::to_string(max));
      }
      compiled = std::make_shared<const like_pattern>(std::move(*c));
    }
    if (lhs.is_column()) {
      if (pattern->is_null()) return constant(filter_truth::unknown);
      bound_node b;
      b.k = bk::like;
      b.negated = n.negated;
      b.column = column_index(lhs);
      b.values = filter_value_list({std::move(*pattern)});
      b.pattern = std::move(compiled);
      keep_shared(pat, filter_domain::text, use::like, {b.values, false, b.pattern});
      return b;
    }
    auto left = value_of(filter_domain::text, lhs, "LIKE: ");
    if (!left) return left.error();
    if (left->is_null() || pattern->is_null()) return constant(filter_truth::unknown);
    return constant(truth_of(compiled->match(left->text) != n.negated));
  }

  // Only $n and $claims values are shared: a literal is written once per use anyway.
  const shared_values* find_shared(const filter_operand& o, filter_domain d, use u) const {
    if (o.k != ok::param && o.k != ok::claim) return nullptr;
    const auto it = shared_.find(share_key(o, d, u));
    return it == shared_.end() ? nullptr : &it->second;
  }

  void keep_shared(const filter_operand& o, filter_domain d, use u, shared_values v) {
    if (o.k != ok::param && o.k != ok::claim) return;
    shared_.emplace(share_key(o, d, u), std::move(v));
  }

  filter_result<bound_node> truth(const filter_node& n) {
    const auto& o = n.operands[0];
    if (o.is_column()) {
      bound_node b;
      b.k = bk::truth;
      b.column = column_index(o);
      return b;
    }
    auto v = value_of(filter_domain::boolean, o, "condition: ");
    if (!v) return v.error();
    if (v->is_null()) return constant(filter_truth::unknown);
    return constant(truth_of(v->boolean));
  }

  const checked_filter& filter_;
  const boost::json::array& params_;
  const boost::json::object& claims_;
  bound_filter out_;
  std::map<std::uint32_t, std::size_t> param_bytes_;  // per $n
  std::size_t param_total_ = 0;
  std::size_t nodes_ = filter_.ast.node_count;
  std::map<std::string, shared_values> shared_;
};

}  // namespace

filter_result<bound_filter> bind_filter(const checked_filter& filter,
                                        const boost::json::array& params,
                                        const boost::json::object& claims) {
  return binder(filter, params, claims).run();
}

}  // namespace fieldsync::protocol
