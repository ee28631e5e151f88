#pragma once
// Who is calling: bearer tokens (JWT) checked with the configured keys (jwt_verifier), for
// HTTP (the Authorization header) and the WebSocket (hello, or the upgrade request).
//
// After the signature and the times, the token's subject and id are checked against the
// deny list (deny_list.hpp: revocations, shared with the admin API and the refresh loop).
//
// Concurrency contract: immutable after construction but for the deny list, which is
// thread-safe; any thread.

#include "server/core/config.hpp"
#include "server/access/jwt_verifier.hpp"

#include <optional>

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace fieldsync::server {

struct principal {
  std::string subject;          // "sub", when the token has one
  boost::json::object claims;   // what scopes read as $claims.NAME
  std::chrono::system_clock::time_point expires_at;
  // exp, or earlier when auth.max_token_age ends the token's use first: how long a
  // verification may be remembered (the pulls' memo).
  std::chrono::system_clock::time_point usable_until;
};

class deny_list;

// Why a request is not authenticated, as the API reports it: 401 with one of these codes.
struct auth_failure {
  std::string code;     // missing_token, invalid_token, token_expired, token_not_yet_valid,
                        // token_too_old, token_revoked
  std::string message;  // one line
};

class authenticator {
 public:
  // Reads the RS256/ES256 public key files; throws config_error naming the key on failure.
  explicit authenticator(const auth_config& cfg);

  // No keys configured: every request is refused (there is no anonymous access).
  bool configured() const noexcept { return verifier_ != nullptr; }

  boost::system::result<principal, auth_failure> verify(
      std::string_view token, std::chrono::system_clock::time_point now) const;

  // From an Authorization header value ("Bearer <token>").
  boost::system::result<principal, auth_failure> verify_header(
      std::string_view authorization, std::chrono::system_clock::time_point now) const;

  // The deny list alone, for a principal verified earlier (an open WebSocket session).
  std::optional<auth_failure> revoked(const principal& who,
                                      std::chrono::system_clock::time_point now) const;

  // Never null; the admin API puts and lifts revocations, the refresh loop replaces it.
  const std::shared_ptr<deny_list>& revocations() const noexcept { return revocations_; }

 private:
  std::unique_ptr<jwt_verifier> verifier_;
  std::shared_ptr<deny_list> revocations_;
};

}  // namespace fieldsync::server
