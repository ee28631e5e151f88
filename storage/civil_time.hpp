#pragma once
// Dates and times in UTC as texts PostgreSQL reads back unambiguously, from plain integers
// (days and seconds since 1970-01-01). The demo generator uses them instead of the C
// library's time functions so its output does not depend on the machine's time zone; the
// calendar itself is protocol/civil_calendar.hpp.

#include <cstdint>
#include <string>

namespace fieldsync::storage {

// "2026-11-24"
std::string format_date(std::int64_t days);
// "2026-11-24 08:15:00+00"
std::string format_timestamp(std::int64_t seconds);

}  // namespace fieldsync::storage
