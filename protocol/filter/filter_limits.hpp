#pragma once
// The bounds every filter is held to (docs/filters.md, "Limits"). Filters come from clients,
// so each dimension that could make parsing, checking, binding or evaluation expensive has a
// limit with a clear error. The server takes these from its config.

#include <cstddef>
#include <cstdint>

namespace fieldsync::protocol {

struct filter_limits {
  std::size_t max_text_bytes = 4096;  // length of the filter text
  std::size_t max_depth = 32;         // parentheses and NOTs nested inside each other
  std::size_t max_in_list = 1000;     // items of one IN list; elements of one ANY array
  std::size_t max_nodes = 2048;       // operators, predicates and operands, list items included
  std::uint32_t max_param = 100;      // the largest $n a filter may name
};

}  // namespace fieldsync::protocol
