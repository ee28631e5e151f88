#pragma once
// Tokens as identity providers (and attackers) make them, for the JWT tests: key pairs,
// tokens signed with libjwt, and raw base64url for hand-made (malformed, alg "none") ones.

#include <boost/json/object.hpp>
#include <jwt.h>

#include <string>
#include <string_view>

namespace fieldsync::test {

struct pem_key_pair {
  std::string private_pem;
  std::string public_pem;
};

// A fresh RSA 2048 (rsa) or EC P-256 key pair, PEM encoded.
pem_key_pair generate_key_pair(bool rsa);

// A token with `claims`, signed with `key` (a secret, or a private key's PEM) by `alg`,
// with `kid` in its header unless null.
std::string sign_jwt(jwt_alg_t alg, const std::string& key, const boost::json::object& claims,
                     const char* kid);

// base64url without padding, as JWTs use it.
std::string base64url(std::string_view in);

}  // namespace fieldsync::test
