#pragma once
// HS256 bearer tokens for e2e tests (the server's verifier checks them like any other).

#include <boost/json/object.hpp>

#include <string>

namespace fieldsync::test {

inline constexpr const char* test_jwt_secret = "e2e-secret-0123456789abcdef0123456789";
inline constexpr const char* test_jwt_kid = "test";

// The [auth.keys.test] section that makes the server accept hs256_token's tokens.
std::string test_auth_toml();

// A token with `claims` (exp one hour ahead unless given), signed with test_jwt_secret.
std::string hs256_token(boost::json::object claims);

}  // namespace fieldsync::test
