// `fieldsync token`: bearer tokens for the demo and for tests, signed with the dev key of a
// data directory or an HS256 key of a config file, that the server's verifier accepts.

#include "server/access/jwt_verifier.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace fieldsync::test;
using namespace fieldsync::server;
using namespace std::chrono_literals;

namespace {

struct outcome {
  int code;
  std::string output;
};

outcome run(std::vector<std::string> args) {
  args.insert(args.begin(), fieldsync_binary().string());
  child_process p(std::move(args), {}, {"FIELDSYNC_AUTH_ISSUER"});
  auto code = p.wait_exit(60s);
  REQUIRE(code);
  p.wait_for_line(std::regex("^$a"), 5s);
  auto text = p.transcript();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return {*code, text};
}

}  // namespace

TEST_CASE("fieldsync token signs claims with the dev key of a data directory", "[e2e][token]") {
  temp_dir dir;
  const std::string secret(48, 'd');
  write_file(dir.path() / "jwt_secret", secret + "\n");
  auto r = run({"token", "--data-dir", dir.path().string(), "--ttl", "600",
                R"({"sub":"rep-7","rep_id":7,"territories":[1]})"});
  REQUIRE(r.code == 0);
  CHECK(std::regex_match(r.output, std::regex(R"([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")));
  jwt_verifier v({{"dev", jwt_algorithm::hs256, secret}}, {});
  const auto now = std::chrono::system_clock::now();
  auto verified = v.verify(r.output, now);
  REQUIRE(verified.has_value());
  CHECK(verified->kid == "dev");
  CHECK(verified->claims.at("sub") == "rep-7");
  CHECK(verified->claims.at("territories").as_array().size() == 1);
  CHECK(verified->expires_at > now + 500s);
  CHECK(verified->expires_at < now + 700s);
}

TEST_CASE("fieldsync token signs with an HS256 key of a config file, with its iss and aud",
          "[e2e][token]") {
  temp_dir dir;
  const std::string secret(40, 'k');
  write_file(dir.path() / "f.toml",
             "[auth]\nissuer = \"https://auth.test\"\naudience = \"fieldsync\"\n"
             "[auth.keys.a]\nalg = \"HS256\"\nsecret = \"" + std::string(40, 'a') + "\"\n"
             "[auth.keys.k]\nalg = \"HS256\"\nsecret = \"" + secret + "\"\n");
  auto r = run({"token", "--config", (dir.path() / "f.toml").string(), "--kid", "k", R"({"sub":"x"})"});
  REQUIRE(r.code == 0);
  jwt_policy policy;
  policy.issuer = "https://auth.test";
  policy.audience = "fieldsync";
  jwt_verifier v({{"k", jwt_algorithm::hs256, secret}}, policy);
  auto verified = v.verify(r.output, std::chrono::system_clock::now());
  REQUIRE(verified.has_value());
  CHECK(verified->claims.at("iss") == "https://auth.test");

  // Two HS256 keys and no --kid: which one is ambiguous.
  auto ambiguous = run({"token", "--config", (dir.path() / "f.toml").string(), R"({"sub":"x"})"});
  CHECK(ambiguous.code == 2);
  CHECK_THAT(ambiguous.output, Catch::Contains("--kid"));
}

TEST_CASE("fieldsync token: bad claims or no key are one-line errors, exit 2", "[e2e][token]") {
  temp_dir dir;
  auto no_key = run({"token", "--data-dir", dir.path().string(), R"({"sub":"x"})"});
  CHECK(no_key.code == 2);
  CHECK_THAT(no_key.output, Catch::Contains("jwt_secret"));
  write_file(dir.path() / "jwt_secret", std::string(48, 'd') + "\n");
  auto bad = run({"token", "--data-dir", dir.path().string(), "[1,2]"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("not a JSON object"));
}
