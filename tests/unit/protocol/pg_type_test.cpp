#include "protocol/pg_type.hpp"

#include "pgoutput_fixture.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

using namespace fieldsync::protocol;

TEST_CASE("describe_type names and classes", "[pg_type]") {
  CHECK(describe_type(oids::int8).cls == type_class::integer);
  CHECK(describe_type(oids::int8).name == "int8");
  CHECK(describe_type(oids::oid).cls == type_class::integer);
  CHECK(describe_type(oids::char_).cls == type_class::text);
  CHECK(describe_type(oids::bpchar).name == "bpchar");
  CHECK(describe_type(oids::timetz).cls == type_class::time);
  CHECK(describe_type(oids::jsonb).cls == type_class::json);
  CHECK(describe_type(oids::timestamptz).cls == type_class::timestamptz);

  auto text_array = describe_type(1009);
  CHECK(text_array.cls == type_class::array);
  CHECK(text_array.element == type_class::text);
  CHECK(text_array.element_oid == oids::text);
  CHECK(text_array.name == "text[]");
  CHECK(describe_type(199).element_oid == oids::json);
  CHECK(describe_type(1231).element == type_class::numeric);

  auto unknown = describe_type(16390);
  CHECK(unknown.cls == type_class::other);
  CHECK(unknown.name == "other");
  CHECK(unknown.oid == 16390);
  CHECK(describe_type(0).cls == type_class::other);
}

TEST_CASE("every known type is an array of a known scalar or a scalar", "[pg_type]") {
  for (const auto& t : known_column_types()) {
    INFO(t.name);
    CHECK(describe_type(t.oid).name == t.name);
    if (t.cls == type_class::array) {
      const auto element = describe_type(t.element_oid);
      CHECK(element.cls == t.element);
      CHECK(std::string(element.name) + "[]" == t.name);
    } else {
      CHECK(t.element_oid == 0);
    }
  }
  CHECK(known_column_types().size() == 46);
}

// pg_type_oids.txt is what a PostgreSQL 15 server answered (capture.sh).
TEST_CASE("the OIDs are PostgreSQL 15's", "[pg_type][golden]") {
  std::ifstream in(fieldsync::test::fixture_path("pg_type_oids.txt"));
  REQUIRE(in);
  std::map<type_oid, std::string> server;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    type_oid oid = 0;
    std::string typname;
    REQUIRE(fields >> oid >> typname);
    server[oid] = typname;
  }
  REQUIRE(server.size() == known_column_types().size());
  for (const auto& t : known_column_types()) {
    INFO(t.name);
    REQUIRE(server.count(t.oid));
    const std::string name(t.name);
    if (t.cls == type_class::array) {
      CHECK(server[t.oid] == "_" + name.substr(0, name.size() - 2));
    } else {
      CHECK(server[t.oid] == name);
    }
  }
}
