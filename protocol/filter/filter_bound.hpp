#pragma once
// bound_filter: a checked filter with its $n parameters and $claims resolved to typed values
// (docs/filters.md). It is what the fan-out evaluates on rows (filter_match.hpp), what pulls
// compile to SQL (filter_sql.hpp) and what the hub indexes subscriptions by
// (filter_constraints.hpp).
//
// Binding folds everything that no longer depends on a row: `$claims.role = 'admin'`
// becomes TRUE or FALSE, `col = NULL` becomes UNKNOWN, and AND/OR/NOT over such constants
// simplify with SQL's three-valued logic, so `$claims.role = 'admin' OR territory_id =
// ANY($claims.territories)` binds to either TRUE or to the ANY test alone.
//
// Immutable once made; share it between threads freely (evaluation only reads).

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter_ast.hpp"
#include "protocol/filter/filter_check.hpp"
#include "protocol/filter/filter_error.hpp"
#include "protocol/filter/filter_like.hpp"
#include "protocol/filter/filter_value.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace fieldsync::protocol {

enum class filter_truth : std::uint8_t { false_, true_, unknown };

struct bound_column {
  column_schema column;
  filter_domain domain = filter_domain::none;
};

// The values of one test. Immutable once bound, and shared: every test that binds the same $n
// or $claims in the same domain holds the same list (`a = ANY($1) OR b = ANY($1)` converts
// and stores $1 once), so a filter's memory does not grow with the uses of a parameter.
class filter_value_list {
 public:
  filter_value_list() = default;
  explicit filter_value_list(std::vector<filter_value> values)
      : values_(std::make_shared<const std::vector<filter_value>>(std::move(values))) {}

  std::size_t size() const noexcept { return values_ ? values_->size() : 0; }
  bool empty() const noexcept { return size() == 0; }
  const filter_value& operator[](std::size_t i) const noexcept { return (*values_)[i]; }
  const filter_value* begin() const noexcept { return values_ ? values_->data() : nullptr; }
  const filter_value* end() const noexcept { return begin() + size(); }
  // The same for every test sharing this list (nullptr when empty).
  const void* identity() const noexcept { return values_.get(); }

 private:
  std::shared_ptr<const std::vector<filter_value>> values_;
};

struct bound_node {
  enum class kind : std::uint8_t {
    constant,  // truth
    and_,      // children: two or more, none of them constant
    or_,       // children: two or more, none of them constant
    not_,      // children: one, not constant
    compare,   // column op values[0]
    in_set,    // column = ANY(values); negated: NOT IN. set_has_null: the list held a NULL
    is_null,   // column IS [NOT] NULL
    like,      // column [NOT] LIKE values[0] (text)
    truth,     // a boolean column used as a condition
  };

  kind k = kind::constant;
  filter_truth truth = filter_truth::unknown;
  filter_op op = filter_op::eq;
  bool negated = false;
  bool set_has_null = false;
  std::uint32_t column = 0;  // index into bound_filter::columns
  std::vector<bound_node> children;
  filter_value_list values;                     // in_set: sorted, distinct, none NULL
  std::shared_ptr<const like_pattern> pattern;  // like: values[0] compiled
};

struct bound_filter {
  bound_node root;
  // The columns the bound filter still reads (folding may have dropped some), each once.
  std::vector<bound_column> columns;
  // The bytes of the $n values summed over their uses (what filter_limits::max_bound_bytes
  // bounds; the memory held is less, since uses share their values).
  std::size_t bound_bytes = 0;

  // Set when binding folded the whole filter: TRUE matches every row, FALSE and UNKNOWN none.
  std::optional<filter_truth> constant() const noexcept {
    if (root.k == bound_node::kind::constant) return root.truth;
    return std::nullopt;
  }
};

// Resolves $n from `params` ($1 is params[0]) and $claims.NAME from `claims` (a claim that
// is absent reads as NULL), converts each to the domain it is compared in and folds
// constants. Errors name the position of the $n or $claims token: missing_parameter for $n
// beyond params, type_mismatch for a value of the wrong kind (an array where a single value
// belongs, a non-array for ANY, a string for an int8 column, ...), bad_value for one that
// does not parse, list_too_long for an ANY array over the limit the filter was parsed with,
// too_many_nodes when the elements of $n arrays (counted at every use) and the filter's own
// nodes exceed max_nodes, too_large for a LIKE pattern over max_pattern_bytes or $n values
// over max_param_bytes (each $n once) or max_bound_bytes (each use).
filter_result<bound_filter> bind_filter(const checked_filter& filter,
                                        const boost::json::array& params,
                                        const boost::json::object& claims);

}  // namespace fieldsync::protocol
