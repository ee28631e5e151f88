#pragma once
// The bounds every filter is held to (docs/filters.md, "Limits"). Filters come from clients,
// so each dimension that could make parsing, checking, binding or evaluation expensive has a
// limit with a clear error. The server takes these from its config.
//
// Parameters ($n) count like the literals they stand for: an ANY($n) array's elements count
// against max_nodes at every use (as an IN list's items do), a LIKE pattern is held to
// max_pattern_bytes whether it is written or bound, and the parameters' bytes have limits of
// their own, once per $n (max_param_bytes) and once per use (max_bound_bytes), so that one
// large parameter named many times cannot multiply its cost.

#include <cstddef>
#include <cstdint>

namespace fieldsync::protocol {

struct filter_limits {
  std::size_t max_text_bytes = 4096;  // length of the filter text
  std::size_t max_depth = 32;         // parentheses and NOTs nested inside each other
  std::size_t max_in_list = 1000;     // items of one IN list; elements of one ANY array
  std::size_t max_nodes = 2048;       // operators, predicates and operands, list items included
                                      // (and the elements of $n arrays, at each use)
  std::uint32_t max_param = 100;      // the largest $n a filter may name
  std::size_t max_pattern_bytes = 256;    // one LIKE pattern, literal or bound through $n
  std::size_t max_param_bytes = 65536;    // the $n values a filter names, each counted once
  std::size_t max_bound_bytes = 1048576;  // the $n values summed over their uses
};

}  // namespace fieldsync::protocol
