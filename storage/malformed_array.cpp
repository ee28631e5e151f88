#include "storage/malformed_array.hpp"

#include <string>

namespace fieldsync::storage {

pg_error malformed_array(std::string_view what, std::string_view text) {
  // Enough of the text to recognise it in the log, not a whole row.
  constexpr std::size_t shown = 120;
  std::string message = std::string(what) + ": not a list of texts: " +
                        std::string(text.substr(0, shown)) + (text.size() > shown ? "..." : "");
  return pg_error{make_error_code(pg_errc::unexpected_result), {}, std::move(message)};
}

}  // namespace fieldsync::storage
