// Parsing a client's batch of mutations: what refuses the whole batch, and what only
// rejects one mutation (keeping its id, so the client's queue moves on).

#include "protocol/mutation_request.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync::protocol;
namespace json = boost::json;

namespace {

boost::system::result<mutation_batch, batch_error> parse(std::string_view text, std::size_t max = 1000) {
  return parse_mutation_batch(json::parse(text), batch_limits{max});
}

std::string batch_code(std::string_view text, std::size_t max = 1000) {
  auto r = parse(text, max);
  REQUIRE_FALSE(r.has_value());
  return r.error().code;
}

// The problem of the only mutation of a batch with client "c1".
std::optional<mutation_problem> problem_of(std::string_view mutation) {
  auto r = parse(R"({"client_id":"c1","mutations":[)" + std::string(mutation) + "]}");
  REQUIRE(r.has_value());
  REQUIRE(r->mutations.size() == 1);
  return r->mutations[0].problem;
}

}  // namespace

TEST_CASE("a batch is parsed with every member of its mutations", "[mutations]") {
  auto r = parse(R"({"type":"push","id":7,"client_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","mutations":[
    {"mutation_id":41,"collection":"visits","op":"update","key":{"id":"a"},"set":{"notes":"x"},
     "base":{"notes":"y"},"base_version":"0/16B3A28","client_ts":"2026-11-25T11:04:51.123Z-0000-c"},
    {"mutation_id":42,"client_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","collection":"visits",
     "op":"delete","key":{"id":"b"},"base":{"id":"b"},"base_version":null},
    {"mutation_id":43,"collection":"kpis","op":"insert","set":{"rep_id":1}}]})");
  REQUIRE(r.has_value());
  CHECK(r->client_id == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  REQUIRE(r->mutations.size() == 3);
  const auto& m = r->mutations[0];
  CHECK(m.mutation_id == 41);
  CHECK(m.collection == "visits");
  CHECK(m.op == mutation_op::update);
  CHECK(m.key.at("id") == "a");
  CHECK(m.set.at("notes") == "x");
  CHECK(m.base.at("notes") == "y");
  REQUIRE(m.base_version);
  CHECK(m.base_version->to_string() == "0/16B3A28");
  CHECK(m.client_ts == "2026-11-25T11:04:51.123Z-0000-c");
  CHECK_FALSE(m.problem);
  CHECK(r->mutations[1].op == mutation_op::remove);
  CHECK_FALSE(r->mutations[1].base_version);
  CHECK(r->mutations[2].op == mutation_op::insert);
  CHECK(r->mutations[2].key.empty());
}

TEST_CASE("batches that cannot be attributed are refused whole", "[mutations]") {
  CHECK(batch_code("[]") == "bad_request");
  CHECK(batch_code(R"({"mutations":[]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"","mutations":[]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"has space","mutations":[]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":")" + std::string(65, 'a') + R"(","mutations":[]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":{}})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[],"extra":1})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[3]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"collection":"x"}]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":0}]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":-1}]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":1.5}]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":"1"}]})") == "bad_request");
  // Ids are consecutive.
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":1},{"mutation_id":3}]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":2},{"mutation_id":1}]})") == "bad_request");
  // A mutation of another client.
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":1,"client_id":"c2"}]})") == "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":1},{"mutation_id":2}]})", 1) ==
        "batch_too_large");
}

TEST_CASE("a mutation of the wrong shape keeps its id and carries its problem", "[mutations]") {
  auto code_of = [](std::string_view m) {
    auto p = problem_of(m);
    REQUIRE(p);
    return std::string(code(p->code));
  };
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"upsert","key":{}})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"op":"update","key":{}})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"update","key":[1]})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"update","key":{},"set":5})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"update","key":{},"base":"a"})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"update","key":{},"colour":1})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"delete","key":{},"set":{"a":1}})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"update","key":{},"base_version":"zz"})") == "bad_mutation");
  CHECK(code_of(R"({"mutation_id":1,"collection":"x","op":"update","key":{},"client_ts":5})") == "bad_clock");
  CHECK_FALSE(problem_of(R"({"mutation_id":1,"collection":"x","op":"update","key":{},"set":null})"));
}

TEST_CASE("mutation ids are bounded far below the overflow of their arithmetic", "[mutations]") {
  // 2^53 - 1 is the largest id: every JSON client holds it exactly, and id + 1, gaps and
  // retention windows stay far from 2^63.
  auto top = parse(R"({"client_id":"c1","mutations":[{"mutation_id":9007199254740990},
                                                      {"mutation_id":9007199254740991}]})");
  REQUIRE(top.has_value());
  CHECK(top->mutations.back().mutation_id == 9007199254740991);
  for (std::string_view id : {"9007199254740992", "9223372036854775806", "9223372036854775807",
                              "9223372036854775808", "18446744073709551615", "1e300"}) {
    INFO(id);
    CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":)" + std::string(id) +
                     "}]}") == "bad_request");
  }
  // The last allowed id followed by one more: refused, not wrapped around.
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":9007199254740991},
                                                     {"mutation_id":9007199254740992}]})") ==
        "bad_request");
  CHECK(batch_code(R"({"client_id":"c1","mutations":[{"mutation_id":9223372036854775807},
                                                     {"mutation_id":-9223372036854775808}]})") ==
        "bad_request");
}
