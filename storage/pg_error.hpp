#pragma once
// Errors of the PostgreSQL glue: an error_code for control flow plus what the server said.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <source_location>
#include <string>
#include <string_view>
#include <system_error>

namespace fieldsync::storage {

enum class pg_errc {
  connection_failed = 1,  // could not establish a connection (see message)
  connection_lost,        // the socket broke while an operation was in flight
  connect_timeout,        // the connect did not finish within the configured time
  query_failed,           // the server answered with an error; sqlstate says which
  copy_failed,            // a COPY was refused or aborted
  busy,                   // an operation was started while another is in flight
  pool_closed,            // the pool is shutting down
  pool_queue_full,        // too many waiters for a pooled connection
  unexpected_result,      // the server answered with a result of an unexpected shape
  copy_ended,             // the server ended a COPY OUT/BOTH stream
  fenced,                 // fieldsync's own state changed under us: another node took over
  operation_timeout,      // no complete answer within the operation timeout (connection broken)
  pool_timeout,           // no pooled connection became free within the acquire timeout
};

const boost::system::error_category& pg_category() noexcept;

inline boost::system::error_code make_error_code(pg_errc e) noexcept {
  return {static_cast<int>(e), pg_category()};
}

// What a failed operation reports. `sqlstate` is empty unless the server sent one.
struct pg_error {
  boost::system::error_code code;
  std::string sqlstate;
  std::string message;  // one line, no trailing newline

  // "query_failed (42P01): relation "x" does not exist"
  std::string to_string() const;
};

// The SQLSTATEs fieldsync acts on (PostgreSQL manual, appendix A "Error Codes"), named as
// there, so a comparison reads as the condition it tests.
namespace sqlstate {
inline constexpr std::string_view unique_violation = "23505";
inline constexpr std::string_view serialization_failure = "40001";
inline constexpr std::string_view deadlock_detected = "40P01";
inline constexpr std::string_view undefined_table = "42P01";
inline constexpr std::string_view duplicate_database = "42P04";
inline constexpr std::string_view too_many_connections = "53300";
inline constexpr std::string_view object_in_use = "55006";
inline constexpr std::string_view lock_not_available = "55P03";
}  // namespace sqlstate

// Lets boost::system::result<T, pg_error>::value() throw at start-up code paths.
[[noreturn]] void throw_exception_from_error(const pg_error& e, const boost::source_location& loc);

template <typename T>
using pg_outcome = boost::system::result<T, pg_error>;

}  // namespace fieldsync::storage

template <>
struct boost::system::is_error_code_enum<fieldsync::storage::pg_errc> : std::true_type {};
