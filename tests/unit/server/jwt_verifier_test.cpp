#include "server/access/jwt_verifier.hpp"
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
  jwt_verifier verifier{
      {{"hs", jwt_algorithm::hs256, secret}, {"rs", jwt_algorithm::rs256, rsa.public_pem},
       {"es", jwt_algorithm::es256, ec.public_pem}},
      {"https://auth.example", "fieldsync", seconds(30), 8192}};

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
