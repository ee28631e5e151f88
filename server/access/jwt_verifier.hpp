#pragma once
// Verification of JWT bearer tokens (RFC 7519) for the public API.
//
// The signature check is libjwt's; everything libjwt leaves to its caller is done here:
// the algorithm is pinned per key and never taken from the token (a token whose header
// names another algorithm than its key's is refused before libjwt sees it, which closes
// "alg":"none" and the HS256-with-an-RSA-public-key confusion), the key is chosen by
// `kid`, and exp, nbf, iat, iss and aud are checked with a leeway. Times are read through
// token_time.hpp (floored, clamped), so no claim value can overflow the arithmetic.
//
// Concurrency contract: immutable after construction; verify() is const and may run on
// any thread.

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

enum class jwt_algorithm { hs256, rs256, es256 };

// "HS256" -> hs256; nullopt-like failure is reported by the config loader.
bool parse_jwt_alg(std::string_view name, jwt_algorithm& out);
std::string_view to_string(jwt_algorithm alg);

struct jwt_key {
  std::string kid;
  jwt_algorithm alg = jwt_algorithm::hs256;
  std::string material;  // HS256: the shared secret; RS256/ES256: a PEM public key
};

struct jwt_policy {
  std::string issuer;    // empty: not checked
  std::string audience;  // empty: not checked
  std::chrono::seconds leeway{30};
  std::size_t max_token_bytes = 8192;
  // auth.max_token_age: tokens issued (iat) longer ago are refused, and tokens without
  // iat; zero: no limit.
  std::chrono::seconds max_age{0};
};

enum class jwt_errc {
  malformed = 1,          // not three base64url parts of JSON
  too_large,              // over max_token_bytes
  unknown_kid,            // no configured key has this kid (or no kid and several keys)
  algorithm_not_allowed,  // header alg is not the key's pinned algorithm (incl. "none")
  bad_signature,
  expired,
  not_yet_valid,
  missing_exp,  // tokens without an expiry are refused
  wrong_issuer,
  wrong_audience,
  issued_in_future,  // iat later than now (beyond the leeway)
  too_old,           // iat older than max_age
  missing_iat,       // max_age is set and the token has no iat
};

const boost::system::error_category& jwt_category() noexcept;
inline boost::system::error_code make_error_code(jwt_errc e) noexcept {
  return {static_cast<int>(e), jwt_category()};
}

// verify()'s time checks alone (exp, nbf and iat against `now`, the leeway and max_age):
// success, malformed, missing_exp, expired, not_yet_valid, issued_in_future, missing_iat or
// too_old. Pure.
boost::system::error_code check_token_times(const boost::json::object& claims,
                                            const jwt_policy& policy,
                                            std::chrono::system_clock::time_point now);

struct verified_token {
  boost::json::object claims;
  std::chrono::system_clock::time_point expires_at;  // clamped (token_time.hpp)
  // When the token stops being accepted: its exp, or earlier, iat + max_age.
  std::chrono::system_clock::time_point usable_until;
  std::optional<std::int64_t> issued_at;  // iat in whole seconds, when present
  std::string kid;
};

class jwt_verifier {
 public:
  // Throws std::invalid_argument naming the kid when a key's material is unusable
  // (start-up only).
  jwt_verifier(std::vector<jwt_key> keys, jwt_policy policy);

  boost::system::result<verified_token> verify(std::string_view token,
                                               std::chrono::system_clock::time_point now) const;

  const jwt_policy& policy() const noexcept { return policy_; }

 private:
  std::vector<jwt_key> keys_;
  jwt_policy policy_;
};

// Signs `claims` with an HS256 key: `fieldsync dev` mints demo tokens with it.
std::string mint_hs256(const jwt_key& key, const boost::json::object& claims);

}  // namespace fieldsync::server

template <>
struct boost::system::is_error_code_enum<fieldsync::server::jwt_errc> : std::true_type {};
