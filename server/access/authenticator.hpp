#pragma once
// Who is calling: bearer tokens (JWT) checked with the configured keys (jwt_verifier), for
// HTTP (the Authorization header) and the WebSocket (hello, or the upgrade request).
//
// Concurrency contract: immutable after construction; any thread.

#include "server/core/config.hpp"
#include "server/access/jwt_verifier.hpp"

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
};

// Why a request is not authenticated, as the API reports it: 401 with one of these codes.
struct auth_failure {
  std::string code;     // missing_token, invalid_token, token_expired, token_not_yet_valid
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

 private:
  std::unique_ptr<jwt_verifier> verifier_;
};

}  // namespace fieldsync::server
