// The deny list's decision (server/access/deny_list.hpp): a subject's revocation refuses
// its tokens issued before it (and those without iat), a token id's refuses that token, an
// entry lapses at `until`, and a refresh never undoes a revocation taken meanwhile.

#include "server/access/deny_list.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;
using std::chrono::seconds;
using clock_type = std::chrono::system_clock;

namespace {

const clock_type::time_point t0 = clock_type::time_point(seconds(1'800'000'000));

revocation of(revocation_kind kind, std::string value, clock_type::time_point at,
              std::optional<clock_type::time_point> until = std::nullopt) {
  revocation r;
  r.kind = kind;
  r.value = std::move(value);
  r.revoked_at = at;
  r.until = until;
  return r;
}

}  // namespace

TEST_CASE("a subject's revocation refuses its tokens issued before it", "[deny_list]") {
  deny_list list;
  list.put(of(revocation_kind::subject, "u1", t0 + std::chrono::milliseconds(500)));
  const auto now = t0 + seconds(10);
  CHECK(list.check({"u1", "", t0 - seconds(60)}, now) == deny_decision::subject_revoked);
  // iat has whole seconds: the second of the revocation counts as before it.
  CHECK(list.check({"u1", "", t0}, now) == deny_decision::subject_revoked);
  CHECK(list.check({"u1", "", t0 + seconds(1)}, now) == deny_decision::allowed);
  // No iat: cannot show it was issued afterwards.
  CHECK(list.check({"u1", "", std::nullopt}, now) == deny_decision::subject_revoked);
  CHECK(list.check({"u2", "", t0 - seconds(60)}, now) == deny_decision::allowed);
  CHECK(list.check({"", "", std::nullopt}, now) == deny_decision::allowed);
  // A subject is not a token id.
  CHECK(list.check({"u2", "u1", std::nullopt}, now) == deny_decision::allowed);
}

TEST_CASE("a token id's revocation refuses that token whatever its times", "[deny_list]") {
  deny_list list;
  list.put(of(revocation_kind::token_id, "jti-1", t0));
  const auto now = t0 + seconds(10);
  CHECK(list.check({"u1", "jti-1", t0 + seconds(5)}, now) == deny_decision::token_revoked);
  CHECK(list.check({"", "jti-1", std::nullopt}, now) == deny_decision::token_revoked);
  CHECK(list.check({"u1", "jti-2", std::nullopt}, now) == deny_decision::allowed);
  CHECK(list.check({"jti-1", "", std::nullopt}, now) == deny_decision::allowed);
}

TEST_CASE("entries lapse at until and can be lifted", "[deny_list]") {
  deny_list list;
  list.put(of(revocation_kind::subject, "u1", t0, t0 + seconds(60)));
  CHECK(list.check({"u1", "", std::nullopt}, t0 + seconds(59)) == deny_decision::subject_revoked);
  CHECK(list.check({"u1", "", std::nullopt}, t0 + seconds(60)) == deny_decision::allowed);
  list.put(of(revocation_kind::token_id, "j", t0));
  CHECK(list.size() == 2);
  CHECK(list.lift(revocation_kind::token_id, "j"));
  CHECK(!list.lift(revocation_kind::token_id, "j"));
  CHECK(list.check({"", "j", std::nullopt}, t0) == deny_decision::allowed);
}

TEST_CASE("a refresh read before a local revocation does not undo it", "[deny_list]") {
  deny_list list;
  const auto read_at = list.generation();
  list.put(of(revocation_kind::subject, "u1", t0));  // taken while the refresh read
  CHECK(!list.replace({}, read_at));
  CHECK(list.check({"u1", "", std::nullopt}, t0) == deny_decision::subject_revoked);
  // The next refresh sees the stored list.
  const auto again = list.generation();
  CHECK(list.replace(
      {of(revocation_kind::subject, "u1", t0), of(revocation_kind::token_id, "j", t0)}, again));
  CHECK(list.size() == 2);
  // Unchanged: nothing to sweep.
  CHECK(!list.replace(
      {of(revocation_kind::subject, "u1", t0), of(revocation_kind::token_id, "j", t0)},
      list.generation()));
  CHECK(list.replace({}, list.generation()));
  CHECK(list.size() == 0);
  CHECK(to_string(revocation_kind::subject) == "sub");
  CHECK(parse_revocation_kind("jti") == revocation_kind::token_id);
  CHECK(!parse_revocation_kind("kid"));
}

TEST_CASE("of two refreshes read at the same time, the one finishing second is ignored",
          "[deny_list]") {
  deny_list list;
  const auto read_at = list.generation();  // the loop and an admin GET both read now
  CHECK(list.replace({of(revocation_kind::subject, "u1", t0)}, read_at));
  CHECK(!list.replace({}, read_at));
  CHECK(list.check({"u1", "", std::nullopt}, t0) == deny_decision::subject_revoked);
}
