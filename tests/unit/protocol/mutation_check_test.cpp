// The checks before anything is read or written: columns, types, NOT NULL, sizes, the key.

#include "protocol/mutation_check.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

collection_schema visits() {
  collection_schema s;
  s.name = "visits";
  s.schema_name = "public";
  s.table_name = "visits";
  s.primary_key = {"id"};
  s.columns = {
      {"id", describe_type(oids::uuid), true, true},
      {"rep_id", describe_type(oids::int4), true, false},
      {"notes", describe_type(oids::text), false, false},
      {"amount", describe_type(oids::numeric), true, true},
      {"tags", describe_type(1009 /* text[] */), true, true},
  };
  return s;
}

collection_schema kpis() {
  collection_schema s;
  s.name = "kpis";
  s.schema_name = "public";
  s.table_name = "kpis";
  s.primary_key = {"rep_id", "month"};
  s.columns = {
      {"rep_id", describe_type(oids::int8), true, false},
      {"month", describe_type(oids::date), true, false},
      {"calls", describe_type(oids::int4), true, true},
  };
  return s;
}

mutation make(mutation_op op, std::string_view key, std::string_view set, std::string_view base = "{}") {
  mutation m;
  m.mutation_id = 1;
  m.collection = "visits";
  m.op = op;
  m.key = json::parse(key).as_object();
  m.set = json::parse(set).as_object();
  m.base = json::parse(base).as_object();
  return m;
}

const char* uuid = "6F1C0A52-9C6B-4B9B-8F0E-0123456789AB";
std::string key_of(const char* id) { return std::string(R"({"id":")") + id + "\"}"; }

std::string problem(const mutation& m, const collection_schema& s = visits(), std::size_t max = 1000) {
  auto r = check_mutation(m, s, mutation_limits{max});
  if (r) return "ok";
  return std::string(code(r.error().code));
}

}  // namespace

TEST_CASE("a valid update comes out normalised, with the log's key text", "[mutations]") {
  auto r = check_mutation(make(mutation_op::update, key_of(uuid), R"({"rep_id":7.0,"notes":"hi","tags":["a"]})",
                               R"({"notes":"old","amount":"12.50"})"),
                          visits(), {});
  REQUIRE(r.has_value());
  CHECK(r->key_text == "6f1c0a52-9c6b-4b9b-8f0e-0123456789ab");
  CHECK(r->changes.at("rep_id") == 7);
  CHECK(r->changes.at("rep_id").is_int64());
  CHECK(r->changes.at("notes") == "hi");
  CHECK(r->base.at("notes") == "old");
  CHECK_FALSE(r->changes.contains("id"));
}

TEST_CASE("an insert takes its key from key or set and must fill NOT NULL columns", "[mutations]") {
  auto r = check_mutation(make(mutation_op::insert, "{}", std::string(R"({"id":")") + uuid + R"(","rep_id":1})"),
                          visits(), {});
  REQUIRE(r.has_value());
  CHECK(r->changes.at("id") == "6f1c0a52-9c6b-4b9b-8f0e-0123456789ab");
  CHECK(r->changes.at("rep_id") == 1);
  CHECK(problem(make(mutation_op::insert, key_of(uuid), R"({"notes":"x"})")) == "not_null");
  CHECK(problem(make(mutation_op::insert, key_of(uuid), R"({"rep_id":1,"amount":null})")) == "not_null");
  CHECK(problem(make(mutation_op::insert, key_of(uuid), R"({"rep_id":1,"id":"6f1c0a52-9c6b-4b9b-8f0e-000000000000"})")) ==
        "bad_mutation");
}

TEST_CASE("each failed check has its code", "[mutations]") {
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"colour":1})")) == "unknown_column");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"notes":"x"})", R"({"colour":1})")) == "unknown_column");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"rep_id":"seven"})")) == "wrong_type");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"rep_id":4294967296})")) == "wrong_type");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"tags":"a"})")) == "wrong_type");
  CHECK(problem(make(mutation_op::update, key_of("not-a-uuid"), R"({"notes":"x"})")) == "wrong_type");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"rep_id":null})")) == "not_null");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"notes":null})")) == "ok");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"notes":")" + std::string(1001, 'x') + "\"}")) ==
        "too_large");
  CHECK(problem(make(mutation_op::update, "{}", R"({"notes":"x"})")) == "missing_key");
  CHECK(problem(make(mutation_op::update, R"({"id":null})", R"({"notes":"x"})")) == "missing_key");
  CHECK(problem(make(mutation_op::update, key_of(uuid), R"({"id":"6f1c0a52-9c6b-4b9b-8f0e-000000000000"})")) ==
        "key_immutable");
  CHECK(problem(make(mutation_op::update, key_of(uuid), std::string(R"({"id":")") + uuid + "\"}")) == "ok");
  CHECK(problem(make(mutation_op::update, R"({"notes":"x"})", R"({})")) == "bad_mutation");
  CHECK(problem(make(mutation_op::remove, key_of(uuid), "{}")) == "ok");
  auto shaped = make(mutation_op::update, key_of(uuid), "{}");
  shaped.problem = mutation_problem{mutation_errc::bad_clock, "x"};
  CHECK(problem(shaped) == "bad_clock");
}

TEST_CASE("composite keys become the JSON array the log uses", "[mutations]") {
  auto m = make(mutation_op::update, R"({"rep_id":7,"month":"2026-11-01"})", R"({"calls":3})");
  m.collection = "kpis";
  auto r = check_mutation(m, kpis(), {});
  REQUIRE(r.has_value());
  CHECK(r->key_text == R"([7,"2026-11-01"])");
  CHECK(problem(make(mutation_op::update, R"({"rep_id":7})", R"({"calls":3})"), kpis()) == "missing_key");
  CHECK(problem(make(mutation_op::update, R"({"rep_id":7,"month":"2026-13-01"})", R"({"calls":3})"), kpis()) ==
        "wrong_type");
}

TEST_CASE("column_text gives the parameter text or the problem", "[mutations]") {
  auto s = visits();
  auto null_text = column_text(*s.find("notes"), json::value(nullptr), {});
  REQUIRE(null_text.has_value());
  CHECK_FALSE(null_text->has_value());
  auto five = column_text(*s.find("rep_id"), json::value(5), {});
  REQUIRE(five.has_value());
  CHECK(**five == "5");
  CHECK(code(column_text(*s.find("rep_id"), json::value(nullptr), {}).error().code) == "not_null");
  CHECK(code(column_text(*s.find("notes"), json::value("abcdef"), mutation_limits{3}).error().code) == "too_large");
}
