#include "conflicts/hlc.hpp"

#include <catch2/catch.hpp>

using fieldsync::conflicts::hlc;

TEST_CASE("placeholder", "[hlc]") { CHECK(hlc::parse("1970-01-01T00:00:00.000Z-0000-a")); }
