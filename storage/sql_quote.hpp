#pragma once
// Quoting of names that reach SQL text. Names come from the configuration (checked as
// identifiers there) or from the catalog, never from clients; values always travel as
// parameters instead.

#include <string>
#include <string_view>

namespace fieldsync::storage {

// "name" with embedded double quotes doubled.
inline std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace fieldsync::storage
