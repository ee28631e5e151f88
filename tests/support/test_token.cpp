#include "tests/support/test_token.hpp"

#include "tests/support/jwt_forge.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

namespace fieldsync::test {

std::string test_auth_toml() {
  return std::string("[auth.keys.") + test_jwt_kid + "]\nalg = \"HS256\"\nsecret = \"" + test_jwt_secret + "\"\n";
}

std::string hs256_token(boost::json::object claims) {
  if (!claims.contains("exp")) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    claims["exp"] = now + 3600;
  }
  boost::json::object header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", test_jwt_kid}};
  std::string signing = base64url(boost::json::serialize(header)) + "." +
                        base64url(boost::json::serialize(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string_view secret = test_jwt_secret;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
  return signing + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace fieldsync::test
