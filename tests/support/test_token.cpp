#include "tests/support/test_token.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

namespace fieldsync::test {

namespace {

std::string base64url(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

}  // namespace

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
