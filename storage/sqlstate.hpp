#pragma once
// The SQLSTATEs fieldsync acts on (PostgreSQL manual, appendix A "Error Codes"), named as
// there, so a comparison with pg_error::sqlstate reads as the condition it tests.

#include <string_view>

namespace fieldsync::storage::sqlstate {

inline constexpr std::string_view feature_not_supported = "0A000";
inline constexpr std::string_view unique_violation = "23505";
inline constexpr std::string_view invalid_sql_statement_name = "26000";
inline constexpr std::string_view serialization_failure = "40001";
inline constexpr std::string_view deadlock_detected = "40P01";
inline constexpr std::string_view undefined_table = "42P01";
inline constexpr std::string_view duplicate_database = "42P04";
inline constexpr std::string_view too_many_connections = "53300";
inline constexpr std::string_view query_canceled = "57014";  // statement_timeout, a cancel
inline constexpr std::string_view object_in_use = "55006";
inline constexpr std::string_view lock_not_available = "55P03";

}  // namespace fieldsync::storage::sqlstate
