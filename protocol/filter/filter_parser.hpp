#pragma once
// parse_filter: filter text to filter_ast (docs/filters.md, "Grammar"). Pure and bounded:
// the text length, nesting depth, IN-list size and node count are checked against
// filter_limits while parsing, so a hostile filter costs at most O(max_text_bytes).

#include "protocol/filter/filter_ast.hpp"
#include "protocol/filter/filter_error.hpp"
#include "protocol/filter/filter_limits.hpp"

#include <string_view>

namespace fieldsync::protocol {

filter_result<filter_ast> parse_filter(std::string_view text, const filter_limits& limits = {});

}  // namespace fieldsync::protocol
