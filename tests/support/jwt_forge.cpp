#include "tests/support/jwt_forge.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>

namespace fieldsync::test {

pem_key_pair generate_key_pair(bool rsa) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"), &EVP_PKEY_free);
  REQUIRE(pkey);
  auto to_string = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    write(bio.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  pem_key_pair kp;
  kp.private_pem = to_string([&](BIO* b) {
    PEM_write_bio_PrivateKey(b, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  kp.public_pem = to_string([&](BIO* b) { PEM_write_bio_PUBKEY(b, pkey.get()); });
  return kp;
}

std::string sign_jwt(jwt_alg_t alg, const std::string& key, const boost::json::object& claims,
                     const char* kid) {
  jwt_t* raw = nullptr;
  REQUIRE(jwt_new(&raw) == 0);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> t(raw, &jwt_free);
  if (kid) jwt_add_header(t.get(), "kid", kid);
  REQUIRE(jwt_add_grants_json(t.get(), boost::json::serialize(claims).c_str()) == 0);
  REQUIRE(jwt_set_alg(t.get(), alg, reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0);
  std::unique_ptr<char, decltype(&std::free)> s(jwt_encode_str(t.get()), &std::free);
  REQUIRE(s);
  return s.get();
}

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

}  // namespace fieldsync::test
