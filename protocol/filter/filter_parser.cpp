#include "protocol/filter/filter_parser.hpp"

#include "protocol/filter/filter_lexer.hpp"

#include <utility>

namespace fieldsync::protocol {

namespace {

using tk = filter_token::kind;

filter_error error(filter_errc code, std::size_t at, std::string message) {
  return filter_error{code, at, std::move(message)};
}

class parser {
 public:
  parser(std::string_view text, const filter_limits& limits)
      : lexer_(text, limits), limits_(limits) {}

  filter_result<filter_ast> run() {
    if (auto r = advance(); !r) return r.error();
    auto root = parse_or(0);
    if (!root) return root.error();
    if (tok_.k != tk::end) {
      return error(filter_errc::syntax, tok_.position,
                   "expected AND, OR or the end of the filter, found " + describe(tok_));
    }
    filter_ast ast;
    ast.root = std::move(*root);
    ast.limits = limits_;
    ast.node_count = nodes_;
    ast.max_param = max_param_;
    return ast;
  }

 private:
  filter_result<void> advance() {
    auto t = lexer_.next();
    if (!t) return t.error();
    tok_ = std::move(*t);
    return {};
  }

  filter_result<void> count_node(std::size_t at) {
    if (++nodes_ > limits_.max_nodes) {
      return error(filter_errc::too_many_nodes, at,
                   "the filter has more than " + std::to_string(limits_.max_nodes) + " terms");
    }
    return {};
  }

  filter_result<void> enter(std::size_t depth, std::size_t at) {
    if (depth > limits_.max_depth) {
      return error(filter_errc::too_deep, at,
                   "parentheses and NOT nested deeper than " + std::to_string(limits_.max_depth));
    }
    return {};
  }

  // or_expr = and_expr { OR and_expr }; and_expr likewise. Chains become one n-ary node, so
  // a long chain costs no recursion.
  filter_result<filter_node> parse_or(std::size_t depth) { return parse_chain(depth, true); }

  filter_result<filter_node> parse_chain(std::size_t depth, bool is_or) {
    auto first = is_or ? parse_chain(depth, false) : parse_not(depth);
    if (!first) return first;
    const tk joiner = is_or ? tk::kw_or : tk::kw_and;
    if (tok_.k != joiner) return first;
    filter_node chain;
    chain.k = is_or ? filter_node::kind::or_ : filter_node::kind::and_;
    chain.position = first->position;
    if (auto r = count_node(tok_.position); !r) return r.error();
    chain.children.push_back(std::move(*first));
    while (tok_.k == joiner) {
      if (auto r = advance(); !r) return r.error();
      auto next = is_or ? parse_chain(depth, false) : parse_not(depth);
      if (!next) return next;
      chain.children.push_back(std::move(*next));
    }
    return chain;
  }

  // not_expr = NOT not_expr | primary
  filter_result<filter_node> parse_not(std::size_t depth) {
    if (tok_.k != tk::kw_not) return parse_primary(depth);
    const std::size_t at = tok_.position;
    if (auto r = enter(depth + 1, at); !r) return r.error();
    if (auto r = count_node(at); !r) return r.error();
    if (auto r = advance(); !r) return r.error();
    auto inner = parse_not(depth + 1);
    if (!inner) return inner;
    filter_node n;
    n.k = filter_node::kind::not_;
    n.position = at;
    n.children.push_back(std::move(*inner));
    return n;
  }

  // primary = "(" or_expr ")" | predicate
  filter_result<filter_node> parse_primary(std::size_t depth) {
    if (tok_.k != tk::lparen) return parse_predicate();
    const std::size_t open = tok_.position;
    if (auto r = enter(depth + 1, open); !r) return r.error();
    if (auto r = advance(); !r) return r.error();
    auto inner = parse_or(depth + 1);
    if (!inner) return inner;
    if (tok_.k != tk::rparen) {
      return error(filter_errc::syntax, tok_.position,
                   "expected ')' to close the '(' at byte " + std::to_string(open) + ", found " +
                       describe(tok_));
    }
    if (auto r = advance(); !r) return r.error();
    return inner;
  }

  static bool starts_operand(tk k) noexcept { return k == tk::identifier || starts_value(k); }
  static bool starts_value(tk k) noexcept {
    return k == tk::string || k == tk::number || k == tk::kw_true || k == tk::kw_false ||
           k == tk::kw_null || k == tk::param || k == tk::claim;
  }

  filter_result<filter_operand> parse_operand(const char* what) {
    if (!starts_operand(tok_.k)) {
      return error(filter_errc::syntax, tok_.position,
                   std::string("expected ") + what + ", found " + describe(tok_));
    }
    return take_operand();
  }

  filter_result<filter_operand> parse_value(const char* what) {
    if (!starts_value(tok_.k)) {
      return error(filter_errc::syntax, tok_.position,
                   std::string("expected ") + what + ", found " + describe(tok_));
    }
    return take_operand();
  }

  filter_result<filter_operand> take_operand() {
    if (auto r = count_node(tok_.position); !r) return r.error();
    filter_operand o;
    o.position = tok_.position;
    switch (tok_.k) {
      case tk::identifier:
        o.k = filter_operand::kind::column;
        o.text = std::move(tok_.text);
        break;
      case tk::string:
        o.k = filter_operand::kind::string;
        o.text = std::move(tok_.text);
        break;
      case tk::number:
        o.k = filter_operand::kind::number;
        o.text = std::move(tok_.text);
        break;
      case tk::kw_true:
        o.k = filter_operand::kind::boolean;
        o.boolean = true;
        break;
      case tk::kw_false:
        o.k = filter_operand::kind::boolean;
        o.boolean = false;
        break;
      case tk::param:
        o.k = filter_operand::kind::param;
        o.param = tok_.param;
        if (o.param > max_param_) max_param_ = o.param;
        break;
      case tk::claim:
        o.k = filter_operand::kind::claim;
        o.text = std::move(tok_.text);
        break;
      default:
        o.k = filter_operand::kind::null_;
        break;
    }
    if (auto r = advance(); !r) return r.error();
    return o;
  }

  static constexpr const char* operand_what =
      "a column or a value (a string, number, TRUE, FALSE, NULL, $n or $claims.NAME)";
  static constexpr const char* value_what =
      "a value (a string, number, TRUE, FALSE, NULL, $n or $claims.NAME)";

  // predicate = operand [ cmp_op (operand | ANY "(" array_ref ")")
  //                     | [NOT] IN "(" value {"," value} ")" | [NOT] LIKE value
  //                     | IS [NOT] NULL ]
  filter_result<filter_node> parse_predicate() {
    if (!starts_operand(tok_.k)) {
      return error(filter_errc::syntax, tok_.position,
                   std::string("expected a condition (") + operand_what + " or '('), found " +
                       describe(tok_));
    }
    if (auto r = count_node(tok_.position); !r) return r.error();
    auto lhs = parse_operand(operand_what);
    if (!lhs) return lhs.error();

    filter_node n;
    n.position = tok_.position;
    n.operands.push_back(std::move(*lhs));

    switch (tok_.k) {
      case tk::op_eq:
      case tk::op_ne:
      case tk::op_lt:
      case tk::op_le:
      case tk::op_gt:
      case tk::op_ge: {
        const tk op_token = tok_.k;
        n.op = op_of(op_token);
        if (auto r = advance(); !r) return r.error();
        if (tok_.k == tk::kw_any) return finish_any(std::move(n), op_token);
        n.k = filter_node::kind::compare;
        auto rhs = parse_operand(operand_what);
        if (!rhs) return rhs.error();
        n.operands.push_back(std::move(*rhs));
        return n;
      }
      case tk::kw_not: {
        if (auto r = advance(); !r) return r.error();
        n.negated = true;
        if (tok_.k == tk::kw_in) return finish_in(std::move(n));
        if (tok_.k == tk::kw_like) return finish_like(std::move(n));
        return error(filter_errc::syntax, tok_.position,
                     "expected IN or LIKE after NOT, found " + describe(tok_));
      }
      case tk::kw_in:
        return finish_in(std::move(n));
      case tk::kw_like:
        return finish_like(std::move(n));
      case tk::kw_is: {
        if (auto r = advance(); !r) return r.error();
        if (tok_.k == tk::kw_not) {
          n.negated = true;
          if (auto r = advance(); !r) return r.error();
        }
        if (tok_.k != tk::kw_null) {
          return error(filter_errc::syntax, tok_.position,
                       std::string("expected NULL after IS") + (n.negated ? " NOT" : "") +
                           ", found " + describe(tok_));
        }
        if (auto r = advance(); !r) return r.error();
        n.k = filter_node::kind::is_null;
        return n;
      }
      default:
        // A lone operand is a truth value: a bool column, TRUE, $claims.is_admin, ...
        n.k = filter_node::kind::value;
        n.position = n.operands.front().position;
        return n;
    }
  }

  static filter_op op_of(tk k) noexcept {
    switch (k) {
      case tk::op_ne:
        return filter_op::ne;
      case tk::op_lt:
        return filter_op::lt;
      case tk::op_le:
        return filter_op::le;
      case tk::op_gt:
        return filter_op::gt;
      case tk::op_ge:
        return filter_op::ge;
      default:
        return filter_op::eq;
    }
  }

  filter_result<filter_node> finish_any(filter_node n, tk op_token) {
    if (op_token != tk::op_eq) {
      return error(filter_errc::unsupported, n.position, "only '= ANY(...)' is supported");
    }
    if (auto r = advance(); !r) return r.error();
    if (tok_.k != tk::lparen) {
      return error(filter_errc::syntax, tok_.position,
                   "expected '(' after ANY, found " + describe(tok_));
    }
    if (auto r = advance(); !r) return r.error();
    if (tok_.k != tk::param && tok_.k != tk::claim) {
      return error(
          filter_errc::syntax, tok_.position,
          "expected $n or $claims.NAME (an array) inside ANY(...), found " + describe(tok_));
    }
    auto arr = take_operand();
    if (!arr) return arr.error();
    n.operands.push_back(std::move(*arr));
    if (tok_.k != tk::rparen) {
      return error(filter_errc::syntax, tok_.position,
                   "expected ')' after the array of ANY, found " + describe(tok_));
    }
    if (auto r = advance(); !r) return r.error();
    n.k = filter_node::kind::any;
    return n;
  }

  filter_result<filter_node> finish_in(filter_node n) {
    n.position = tok_.position;
    if (auto r = advance(); !r) return r.error();
    if (tok_.k != tk::lparen) {
      return error(filter_errc::syntax, tok_.position,
                   "expected '(' after IN, found " + describe(tok_));
    }
    if (auto r = advance(); !r) return r.error();
    while (true) {
      if (n.operands.size() - 1 >= limits_.max_in_list) {
        return error(
            filter_errc::list_too_long, tok_.position,
            "an IN list may have at most " + std::to_string(limits_.max_in_list) + " items");
      }
      auto item = parse_value(value_what);
      if (!item) return item.error();
      n.operands.push_back(std::move(*item));
      if (tok_.k == tk::comma) {
        if (auto r = advance(); !r) return r.error();
        continue;
      }
      if (tok_.k == tk::rparen) break;
      return error(filter_errc::syntax, tok_.position,
                   "expected ',' or ')' in the IN list, found " + describe(tok_));
    }
    if (auto r = advance(); !r) return r.error();
    n.k = filter_node::kind::in_list;
    return n;
  }

  filter_result<filter_node> finish_like(filter_node n) {
    n.position = tok_.position;
    if (auto r = advance(); !r) return r.error();
    auto pattern = parse_value("a pattern (a string, $n or $claims.NAME)");
    if (!pattern) return pattern.error();
    n.operands.push_back(std::move(*pattern));
    n.k = filter_node::kind::like;
    return n;
  }

  filter_lexer lexer_;
  filter_limits limits_;
  filter_token tok_;
  std::size_t nodes_ = 0;
  std::uint32_t max_param_ = 0;
};

}  // namespace

filter_op flip(filter_op op) noexcept {
  switch (op) {
    case filter_op::lt:
      return filter_op::gt;
    case filter_op::le:
      return filter_op::ge;
    case filter_op::gt:
      return filter_op::lt;
    case filter_op::ge:
      return filter_op::le;
    default:
      return op;
  }
}

const char* to_sql(filter_op op) noexcept {
  switch (op) {
    case filter_op::eq:
      return "=";
    case filter_op::ne:
      return "<>";
    case filter_op::lt:
      return "<";
    case filter_op::le:
      return "<=";
    case filter_op::gt:
      return ">";
    case filter_op::ge:
      return ">=";
  }
  return "=";
}

filter_result<filter_ast> parse_filter(std::string_view text, const filter_limits& limits) {
  if (text.size() > limits.max_text_bytes) {
    return error(filter_errc::too_long, limits.max_text_bytes,
                 "the filter is " + std::to_string(text.size()) + " bytes long; at most " +
                     std::to_string(limits.max_text_bytes) + " are allowed");
  }
  return parser(text, limits).run();
}

}  // namespace fieldsync::protocol
