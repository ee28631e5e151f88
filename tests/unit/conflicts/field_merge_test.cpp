#include "conflicts/field_merge.hpp"

#include "conflicts/merge_errc.hpp"
#include "merge_test_support.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::conflicts;
using fieldsync::conflicts::test::j;

namespace {

// Records whether the frame asked it; merges to a marker value.
class probe_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "probe"; }
  boost::system::result<boost::json::value> resolve(const field_context&) const override {
    ++calls;
    return boost::json::value("decided");
  }
  mutable int calls = 0;
};

class rejecting_strategy final : public merge_strategy {
 public:
  std::string_view name() const noexcept override { return "no"; }
  boost::system::result<boost::json::value> resolve(const field_context&) const override {
    return merge_errc::conflict;
  }
};

struct frame_case {
  const char* base;  // nullptr: absent
  const char* client;
  const char* server;
};

boost::system::result<merged_field> run(const merge_strategy& s, const frame_case& fc) {
  static const writer nobody;
  boost::json::value base = fc.base ? j(fc.base) : boost::json::value();
  boost::json::value client = j(fc.client);
  boost::json::value server = j(fc.server);
  field_context c{.collection = "c",
                  .field = "f",
                  .type = {},
                  .base = fc.base ? &base : nullptr,
                  .client = &client,
                  .server = &server,
                  .client_writer = &nobody,
                  .server_writer = &nobody};
  return merge_field(s, c);
}

}  // namespace

TEST_CASE("the frame takes the client's value when the server did not change", "[frame]") {
  probe_strategy p;
  auto r = run(p, {"1", "2", "1"});
  REQUIRE(r);
  CHECK(r->resolution == field_resolution::client);
  CHECK(r->value == j("2"));
  // Semantically unchanged server: 1.0 is 1.
  r = run(p, {"1", "2", "1.0"});
  CHECK(r->resolution == field_resolution::client);
  // Nobody changed it.
  r = run(p, {"\"x\"", "\"x\"", "\"x\""});
  CHECK(r->resolution == field_resolution::client);
  CHECK(p.calls == 0);
}

TEST_CASE("the frame keeps the server's value when the client did not change", "[frame]") {
  probe_strategy p;
  auto r = run(p, {"[1,2]", "[1,2]", "[1,2,3]"});
  REQUIRE(r);
  CHECK(r->resolution == field_resolution::server);
  CHECK(r->value == j("[1,2,3]"));
  CHECK(p.calls == 0);
}

TEST_CASE("the frame accepts equal changes from both sides without a conflict", "[frame]") {
  probe_strategy p;
  auto r = run(p, {"1", "5", "5.0"});
  REQUIRE(r);
  CHECK(r->resolution == field_resolution::agreed);
  CHECK(r->value == j("5.0"));  // the server's spelling: nothing to write
  r = run(p, {"null", R"({"a":1,"b":2})", R"({"b":2,"a":1})"});
  CHECK(r->resolution == field_resolution::agreed);
  CHECK(p.calls == 0);
}

TEST_CASE("the frame asks the policy only when both changed differently", "[frame]") {
  probe_strategy p;
  auto r = run(p, {"1", "2", "3"});
  REQUIRE(r);
  CHECK(r->resolution == field_resolution::policy);
  CHECK(r->value == j("\"decided\""));
  CHECK(p.calls == 1);

  rejecting_strategy no;
  auto rejected = run(no, {"1", "2", "3"});
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error() == merge_errc::conflict);
  CHECK(run(no, {"1", "2", "1"}));  // no conflict, no rejection
}

TEST_CASE("an absent base is no value, not even null", "[frame]") {
  probe_strategy p;
  auto r = run(p, {nullptr, "null", "null"});  // both "set" null: agreement
  REQUIRE(r);
  CHECK(r->resolution == field_resolution::agreed);
  r = run(p, {nullptr, "1", "null"});
  CHECK(r->resolution == field_resolution::policy);
  r = run(p, {"null", "1", "null"});  // a null base is a value
  CHECK(r->resolution == field_resolution::client);
}
