#pragma once
// LIKE as PostgreSQL evaluates it with its default escape: '%' matches any run of characters,
// '_' exactly one character (a UTF-8 code point, as in a UTF-8 database), a backslash makes
// the next character literal, everything else matches itself, case-sensitively.

#include <cstddef>
#include <optional>
#include <string_view>

namespace fieldsync::protocol {

// The offset of a trailing unpaired backslash, which PostgreSQL rejects (but only when
// matching reaches it, so the error would depend on the row: fieldsync rejects the pattern
// up front instead).
std::optional<std::size_t> like_pattern_error(std::string_view pattern) noexcept;

// Whether `text` matches `pattern`. Worst case O(text * pattern) steps, like PostgreSQL's;
// never allocates. The pattern must have passed like_pattern_error.
bool like_match(std::string_view text, std::string_view pattern) noexcept;

}  // namespace fieldsync::protocol
