#pragma once
// An array's text from the server that does not parse, or not as the list expected: the
// reads that meet one fail with unexpected_result, naming what was read and the start of
// the text. Never guessed at.

#include "storage/pg_error.hpp"

#include <string_view>

namespace fieldsync::storage {

pg_error malformed_array(std::string_view what, std::string_view text);

}  // namespace fieldsync::storage
