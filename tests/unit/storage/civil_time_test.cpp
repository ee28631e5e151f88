#include "storage/civil_time.hpp"

#include "protocol/civil_calendar.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::storage;
using fieldsync::protocol::days_from_civil;

TEST_CASE("dates are printed as PostgreSQL reads them", "[civil_time]") {
  CHECK(format_date(0) == "1970-01-01");
  CHECK(format_date(20781) == "2026-11-24");
  CHECK(format_date(days_from_civil({2028, 2, 29})) == "2028-02-29");
}

TEST_CASE("timestamps are printed in UTC with an explicit offset", "[civil_time]") {
  CHECK(format_timestamp(0) == "1970-01-01 00:00:00+00");
  CHECK(format_timestamp(20781LL * 86400 + 8 * 3600 + 15 * 60 + 7) == "2026-11-24 08:15:07+00");
  CHECK(format_timestamp(-1) == "1969-12-31 23:59:59+00");
}
