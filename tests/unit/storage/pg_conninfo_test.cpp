// conninfo_with_setting: a session setting added to any connection string libpq reads.
#include "storage/pg_conninfo.hpp"

#include <libpq-fe.h>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

using fieldsync::storage::conninfo_with_setting;

namespace {

// What libpq reads from a conninfo: keyword -> value, for the keywords it sets.
std::map<std::string, std::string> read(const std::string& conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(
      PQconninfoParse(conninfo.c_str(), &err), &PQconninfoFree);
  if (err) PQfreemem(err);
  std::map<std::string, std::string> out;
  if (!opts) return out;
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (o->val) out[o->keyword] = o->val;
  }
  return out;
}

}  // namespace

TEST_CASE("conninfo_with_setting adds -c name=value to a key=value conninfo") {
  auto got =
      read(conninfo_with_setting("host=/tmp/x port=5433 dbname=app", "statement_timeout", "300"));
  CHECK(got["host"] == "/tmp/x");
  CHECK(got["port"] == "5433");
  CHECK(got["dbname"] == "app");
  CHECK(got["options"] == "-c statement_timeout=300");
}

TEST_CASE("conninfo_with_setting reads a URI and keeps its own options first") {
  auto got = read(conninfo_with_setting(
      "postgresql://us%27er:p%5Cw'd@127.0.0.1:5432/db?options=-c%20work_mem%3D4MB&sslmode=disable",
      "statement_timeout", "30000"));
  CHECK(got["user"] == "us'er");
  CHECK(got["password"] == "p\\w'd");
  CHECK(got["host"] == "127.0.0.1");
  CHECK(got["dbname"] == "db");
  CHECK(got["sslmode"] == "disable");
  CHECK(got["options"] == "-c work_mem=4MB -c statement_timeout=30000");
}

TEST_CASE("conninfo_with_setting leaves what libpq cannot read alone") {
  CHECK(conninfo_with_setting("host=", "statement_timeout", "1") != "");
  CHECK(conninfo_with_setting("nonsense_keyword=1", "statement_timeout", "1") ==
        "nonsense_keyword=1");
}
