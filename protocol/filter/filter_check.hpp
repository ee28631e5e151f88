#pragma once
// check_filter: a parsed filter against a collection's columns (docs/filters.md, "Types").
// Resolves every column (unknown ones are errors), checks that each literal fits the column
// it is compared with (an int8 column with a number, a uuid column with a string that parses
// as a uuid, ...), that LIKE is used on text columns only, and that json, jsonb, array and
// other non-comparable columns appear only under IS [NOT] NULL. What depends on $n and
// $claims (their kinds, whether ANY gets an array) is checked by bind_filter.
//
// A checked_filter is immutable and may be shared between threads; one per (collection,
// filter text), bound once per subscriber.

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter_ast.hpp"
#include "protocol/filter/filter_error.hpp"
#include "protocol/filter/filter_limits.hpp"

#include <string_view>
#include <vector>

namespace fieldsync::protocol {

struct checked_filter {
  // The parse tree, normalised: in compare nodes a column, if any, is the left operand; every
  // column operand's `column` indexes `columns`.
  filter_ast ast;
  // The columns the filter reads, each once, in order of first mention.
  std::vector<column_schema> columns;
  std::string collection;  // for messages
};

filter_result<checked_filter> check_filter(filter_ast ast, const collection_schema& schema);

// parse_filter then check_filter.
filter_result<checked_filter> prepare_filter(std::string_view text, const collection_schema& schema,
                                             const filter_limits& limits = {});

}  // namespace fieldsync::protocol
