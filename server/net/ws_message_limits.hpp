#pragma once
// Limits of the fieldsync.v1 message layer that its fuzz target shares
// (tests/fuzz/fuzz_ws_client_message.cpp). Pure constants.

#include <cstddef>

namespace fieldsync::server {

// Nesting deeper than this is never a fieldsync message; refusing it bounds parser work.
inline constexpr std::size_t ws_max_json_depth = 32;

}  // namespace fieldsync::server
