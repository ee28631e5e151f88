#pragma once
// Text PostgreSQL accepts as a text value or parameter: well-formed UTF-8 (the server
// encoding fieldsync requires) without NUL, which libpq would cut the value at. Every
// string a client sends that reaches SQL is checked against this first, so that a bad byte
// is the client's 400, never the database's error.

#include <cstddef>
#include <string_view>

namespace fieldsync::protocol {

// The offset of the first byte that is NUL or not part of well-formed UTF-8 (overlong
// forms, UTF-16 surrogates and code points beyond U+10FFFF included), or npos.
std::size_t first_bad_text_byte(std::string_view s) noexcept;

inline bool is_pg_text(std::string_view s) noexcept {
  return first_bad_text_byte(s) == std::string_view::npos;
}

}  // namespace fieldsync::protocol
