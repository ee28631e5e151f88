#pragma once
// The parsed form of a filter (docs/filters.md): a tree of boolean operators over predicates,
// each predicate over operands (a column, a literal, $n or $claims.NAME). Made by
// parse_filter, annotated by check_filter, turned into a bound_filter by bind_filter; callers
// other than those rarely need to look inside.

#include "protocol/filter/filter_limits.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fieldsync::protocol {

enum class filter_op : std::uint8_t { eq, ne, lt, le, gt, ge };

// The operator that gives the same answer with the operands swapped (a < b  <=>  b > a).
filter_op flip(filter_op op) noexcept;
const char* to_sql(filter_op op) noexcept;  // "=", "<>", "<", ...

struct filter_operand {
  enum class kind : std::uint8_t { column, null_, boolean, number, string, param, claim };
  static constexpr std::uint32_t no_column = 0xffffffff;

  kind k = kind::null_;
  std::size_t position = 0;          // byte offset of the token
  std::string text;                  // column or claim name, a string's value, a number as written
  bool boolean = false;              // kind::boolean
  std::uint32_t param = 0;           // kind::param: n of $n (1-based)
  std::uint32_t column = no_column;  // kind::column, after check_filter: index into its columns

  bool is_column() const noexcept { return k == kind::column; }
  bool is_literal() const noexcept {
    return k == kind::null_ || k == kind::boolean || k == kind::number || k == kind::string;
  }
};

struct filter_node {
  enum class kind : std::uint8_t {
    and_,     // children: two or more
    or_,      // children: two or more
    not_,     // children: one
    compare,  // operands: lhs, rhs; op
    in_list,  // operands: lhs, then the items; negated for NOT IN
    any,      // operands: lhs, the array ($n or $claims.NAME); always "="
    is_null,  // operands: one; negated for IS NOT NULL
    like,     // operands: lhs, pattern; negated for NOT LIKE
    value,    // operands: one, used as a truth value (a bool column, TRUE, $1, ...)
  };

  kind k = kind::value;
  std::size_t position = 0;  // byte offset of the operator (or the operand for kind::value)
  filter_op op = filter_op::eq;
  bool negated = false;
  std::vector<filter_node> children;
  std::vector<filter_operand> operands;
};

struct filter_ast {
  filter_node root;
  filter_limits limits;  // the limits it was parsed with; bind_filter applies them too
  std::size_t node_count = 0;
  std::uint32_t max_param = 0;  // the largest n of the $n it names (0: none)
};

}  // namespace fieldsync::protocol
