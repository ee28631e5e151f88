#include "server/access/jwt_verifier.hpp"
#include "server/access/token_time.hpp"
#include "tests/support/jwt_forge.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync::server;
using namespace fieldsync::test;
namespace json = boost::json;
using std::chrono::seconds;
using clock_type = std::chrono::system_clock;

namespace {

struct fixture {
  std::string secret = std::string(40, 's');
  pem_key_pair rsa = generate_key_pair(true);
  pem_key_pair ec = generate_key_pair(false);
  clock_type::time_point now = clock_type::time_point(seconds(1'800'000'000));
  std::int64_t now_s = 1'800'000'000;
  jwt_verifier verifier{{{"hs", jwt_algorithm::hs256, secret},
                         {"rs", jwt_algorithm::rs256, rsa.public_pem},
                         {"es", jwt_algorithm::es256, ec.public_pem}},
                        {"https://auth.example", "fieldsync", seconds(30), 8192, seconds(0)}};

  json::object claims(std::int64_t exp_offset = 3600) const {
    return {{"sub", "rep-7"}, {"iss", "https://auth.example"}, {"aud", "fieldsync"},
            {"exp", now_s + exp_offset}, {"territories", json::array{1, 2}}};
  }
  boost::system::error_code error_of(const std::string& token) const {
    auto r = verifier.verify(token, now);
    return r ? boost::system::error_code{} : r.error();
  }
};

}  // namespace

TEST_CASE("valid HS256, RS256 and ES256 tokens are accepted with their claims", "[jwt]") {
  fixture f;
  for (auto [alg, key, kid] : {std::tuple{JWT_ALG_HS256, f.secret, "hs"},
                               std::tuple{JWT_ALG_RS256, f.rsa.private_pem, "rs"},
                               std::tuple{JWT_ALG_ES256, f.ec.private_pem, "es"}}) {
    INFO(kid);
    auto r = f.verifier.verify(sign_jwt(alg, key, f.claims(), kid), f.now);
    REQUIRE(r.has_value());
    CHECK(r->kid == kid);
    CHECK(r->claims.at("sub") == "rep-7");
    CHECK(r->claims.at("territories").as_array().size() == 2);
    CHECK(r->expires_at == f.now + seconds(3600));
  }
}

TEST_CASE("JWT negative suite", "[jwt]") {
  fixture f;
  auto good = f.claims();

  SECTION("alg none") {
    auto token = base64url(R"({"alg":"none","kid":"hs"})") + "." +
                 base64url(json::serialize(good)) + ".";
    CHECK(f.error_of(token) == jwt_errc::algorithm_not_allowed);
    auto no_kid = base64url(R"({"alg":"none"})") + "." + base64url(json::serialize(good)) + ".";
    CHECK(f.error_of(no_kid) == jwt_errc::unknown_kid);
  }
  SECTION("HS256 signed with the RSA public key") {
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.rsa.public_pem, good, "rs")) ==
          jwt_errc::algorithm_not_allowed);
  }
  SECTION("RS256 token presented under the HS256 key id") {
    CHECK(f.error_of(sign_jwt(JWT_ALG_RS256, f.rsa.private_pem, good, "hs")) ==
          jwt_errc::algorithm_not_allowed);
  }
  SECTION("expired, within and beyond the leeway") {
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, f.claims(-10), "hs")) == boost::system::error_code{});
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, f.claims(-31), "hs")) == jwt_errc::expired);
  }
  SECTION("not yet valid") {
    auto c = good;
    c["nbf"] = f.now_s + 120;
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == jwt_errc::not_yet_valid);
    c["nbf"] = f.now_s + 20;  // inside the leeway
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == boost::system::error_code{});
  }
  SECTION("missing exp") {
    auto c = good;
    c.erase("exp");
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == jwt_errc::missing_exp);
  }
  SECTION("wrong iss") {
    auto c = good;
    c["iss"] = "https://evil.example";
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == jwt_errc::wrong_issuer);
    c.erase("iss");
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == jwt_errc::wrong_issuer);
  }
  SECTION("wrong aud, as a string and as a list") {
    auto c = good;
    c["aud"] = "other-api";
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == jwt_errc::wrong_audience);
    c["aud"] = json::array{"other-api", "more"};
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == jwt_errc::wrong_audience);
    c["aud"] = json::array{"other-api", "fieldsync"};
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, c, "hs")) == boost::system::error_code{});
  }
  SECTION("unknown kid") {
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, good, "nope")) == jwt_errc::unknown_kid);
  }
  SECTION("bad signature") {
    auto other = std::string(40, 'x');
    CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, other, good, "hs")) == jwt_errc::bad_signature);
    auto other_ec = generate_key_pair(false);
    CHECK(f.error_of(sign_jwt(JWT_ALG_ES256, other_ec.private_pem, good, "es")) ==
          jwt_errc::bad_signature);
    // A claim changed after signing.
    auto token = sign_jwt(JWT_ALG_RS256, f.rsa.private_pem, good, "rs");
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    auto forged = good;
    forged["sub"] = "manager-1";
    auto tampered = token.substr(0, dot1 + 1) + base64url(json::serialize(forged)) + token.substr(dot2);
    CHECK(f.error_of(tampered) == jwt_errc::bad_signature);
  }
  SECTION("malformed") {
    for (std::string bad : std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "!!!.###.$$$",
                            base64url("not json") + "." + base64url("{}") + ".sig",
                            base64url("[1]") + "." + base64url("{}") + ".sig"}) {
      INFO(bad);
      CHECK(f.error_of(bad) == jwt_errc::malformed);
    }
  }
  SECTION("too large") {
    CHECK(f.error_of(std::string(9000, 'a')) == jwt_errc::too_large);
  }
}

TEST_CASE(
    "validly signed tokens with extreme times are refused or read as far future, without overflow",
    "[jwt][token_time]") {
  fixture f;
  struct extreme {
    const char* name;
    json::value exp;
    bool accepted;
  };
  const std::vector<extreme> cases{
      {"2^62", json::value(std::int64_t{1} << 62), true},
      {"2^63-1", json::value(INT64_MAX), true},
      {"year 9999", json::value(std::int64_t{253'402'300'799}), true},
      {"1e300", json::value(1e300), true},
      {"fractional", json::value(static_cast<double>(f.now_s) + 100.75), true},
      {"-1e300", json::value(-1e300), false},
      {"INT64_MIN", json::value(INT64_MIN), false},
      {"negative", json::value(std::int64_t{-1}), false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto claims = f.claims();
    claims["exp"] = c.exp;
    auto r = f.verifier.verify(sign_jwt(JWT_ALG_HS256, f.secret, claims, "hs"), f.now);
    CHECK(r.has_value() == c.accepted);
    if (r && c.exp.is_number() && c.exp.to_number<double>() > 1e10) {
      // Far future: the clamp, not an overflowed (negative) time.
      CHECK(r->expires_at == fieldsync::server::time_of_seconds(numeric_date_limit));
      CHECK(r->expires_at > f.now);
    }
    if (!r) CHECK(r.error() == jwt_errc::expired);
  }
  for (const char* claim : {"nbf", "iat"}) {
    INFO(claim);
    // (Integers beyond int64 never get here: libjwt refuses to parse them.)
    for (auto v : {json::value(1e300), json::value(INT64_MAX), json::value(-1e300),
                   json::value(INT64_MIN)}) {
      auto claims = f.claims();
      claims[claim] = v;
      auto error = f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, claims, "hs"));
      if (v.to_number<double>() > 0) {
        CHECK(error == (std::string_view(claim) == "nbf" ? jwt_errc::not_yet_valid
                                                         : jwt_errc::issued_in_future));
      } else {
        CHECK(error == boost::system::error_code{});
      }
    }
  }
  auto claims = f.claims();
  claims["exp"] = "tomorrow";
  CHECK(f.error_of(sign_jwt(JWT_ALG_HS256, f.secret, claims, "hs")) == jwt_errc::malformed);
}

TEST_CASE("the maximum token age refuses old tokens and tokens without iat", "[jwt][token_time]") {
  const auto now = clock_type::time_point(seconds(1'800'000'000));
  const std::int64_t now_s = 1'800'000'000;
  jwt_policy policy;
  policy.leeway = seconds(30);
  policy.max_age = seconds(3600);
  json::object c{{"exp", now_s + 60}};
  CHECK(check_token_times(c, policy, now) == jwt_errc::missing_iat);
  c["iat"] = now_s - 3600;
  CHECK(check_token_times(c, policy, now) == boost::system::error_code{});
  c["iat"] = now_s - 3630;  // the leeway
  CHECK(check_token_times(c, policy, now) == boost::system::error_code{});
  c["iat"] = now_s - 3631;
  CHECK(check_token_times(c, policy, now) == jwt_errc::too_old);
  c["iat"] = -1e300;
  CHECK(check_token_times(c, policy, now) == jwt_errc::too_old);
  c["iat"] = now_s + 31;  // issued in the future would never grow old
  CHECK(check_token_times(c, policy, now) == jwt_errc::issued_in_future);
  c["iat"] = 1e300;
  CHECK(check_token_times(c, policy, now) == jwt_errc::issued_in_future);
  c["iat"] = json::array{};
  CHECK(check_token_times(c, policy, now) == jwt_errc::malformed);
  policy.max_age = seconds(0);
  c.erase("iat");
  CHECK(check_token_times(c, policy, now) == boost::system::error_code{});
}

TEST_CASE("key material is checked at start-up", "[jwt]") {
  CHECK_THROWS_WITH(jwt_verifier({{"short", jwt_algorithm::hs256, "tooshort"}}, {}),
                    Catch::Contains("\"short\"") && Catch::Contains("32 bytes"));
  CHECK_THROWS_WITH(jwt_verifier({{"r", jwt_algorithm::rs256, "not pem"}}, {}),
                    Catch::Contains("not a PEM public key"));
  auto ec = generate_key_pair(false);
  CHECK_THROWS_WITH(jwt_verifier({{"r", jwt_algorithm::rs256, ec.public_pem}}, {}),
                    Catch::Contains("RSA"));
}

TEST_CASE("mint_hs256 makes tokens the verifier accepts", "[jwt]") {
  jwt_key key{"dev", jwt_algorithm::hs256, std::string(32, 'k')};
  jwt_verifier v({key}, {});
  auto now = clock_type::now();
  auto exp = std::chrono::duration_cast<seconds>(now.time_since_epoch()).count() + 60;
  auto r = v.verify(mint_hs256(key, {{"sub", "x"}, {"exp", exp}}), now);
  REQUIRE(r.has_value());
  CHECK(r->claims.at("sub") == "x");
}
