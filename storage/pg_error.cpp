#include "storage/pg_error.hpp"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace fieldsync::storage {

namespace {

class pg_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.pg"; }
  std::string message(int ev) const override {
    switch (static_cast<pg_errc>(ev)) {
      case pg_errc::connection_failed: return "connection_failed";
      case pg_errc::connection_lost: return "connection_lost";
      case pg_errc::connect_timeout: return "connect_timeout";
      case pg_errc::query_failed: return "query_failed";
      case pg_errc::copy_failed: return "copy_failed";
      case pg_errc::busy: return "busy";
      case pg_errc::pool_closed: return "pool_closed";
      case pg_errc::pool_queue_full: return "pool_queue_full";
      case pg_errc::unexpected_result: return "unexpected_result";
      case pg_errc::copy_ended: return "copy_ended";
      case pg_errc::fenced: return "fenced";
      case pg_errc::operation_timeout: return "operation_timeout";
      case pg_errc::pool_timeout: return "pool_timeout";
    }
    return "unknown pg error";
  }
};

}  // namespace

const boost::system::error_category& pg_category() noexcept {
  static const pg_category_impl instance;
  return instance;
}

std::string pg_error::to_string() const {
  std::string out = code.message();
  if (!sqlstate.empty()) out += " (" + sqlstate + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

void throw_exception_from_error(const pg_error& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.to_string()), loc);
}

pg_error malformed_array(std::string_view what, std::string_view text) {
  // Enough of the text to recognise it in the log, not a whole row.
  constexpr std::size_t shown = 120;
  std::string message = std::string(what) + ": not a list of texts: " +
                        std::string(text.substr(0, shown)) + (text.size() > shown ? "..." : "");
  return pg_error{make_error_code(pg_errc::unexpected_result), {}, std::move(message)};
}

}  // namespace fieldsync::storage
