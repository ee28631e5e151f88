#include "server/access/authenticator.hpp"

#include "server/access/deny_list.hpp"
#include "server/access/token_time.hpp"

#include <fstream>
#include <sstream>

namespace fieldsync::server {

namespace {

std::string read_key_file(const jwt_key_config& k) {
  std::ifstream in(k.public_key_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    throw config_error("auth.keys." + k.kid + ".public_key_file: cannot read " + k.public_key_file);
  }
  return text.str();
}

auth_failure failure_of(const boost::system::error_code& ec) {
  if (ec == jwt_errc::expired) return {"token_expired", "the token has expired: get a new one"};
  if (ec == jwt_errc::not_yet_valid) return {"token_not_yet_valid", "the token is not valid yet (nbf)"};
  if (ec == jwt_errc::too_old) {
    return {"token_too_old",
            "the token was issued longer ago than auth.max_token_age allows: get a new one"};
  }
  if (ec == jwt_errc::missing_iat) {
    return {"token_too_old",
            "the token has no iat and auth.max_token_age is set: get a token with iat"};
  }
  return {"invalid_token", "the token was refused: " + ec.message()};
}

}  // namespace

authenticator::authenticator(const auth_config& cfg) : revocations_(std::make_shared<deny_list>()) {
  if (cfg.keys.empty()) return;
  std::vector<jwt_key> keys;
  for (const auto& k : cfg.keys) {
    jwt_key key;
    key.kid = k.kid;
    if (!parse_jwt_alg(k.alg, key.alg)) throw config_error("auth.keys." + k.kid + ".alg: unknown algorithm " + k.alg);
    key.material = key.alg == jwt_algorithm::hs256 ? k.secret : read_key_file(k);
    keys.push_back(std::move(key));
  }
  jwt_policy policy;
  policy.issuer = cfg.issuer;
  policy.audience = cfg.audience;
  policy.leeway = std::chrono::duration_cast<std::chrono::seconds>(cfg.leeway);
  policy.max_token_bytes = cfg.max_token_bytes;
  // Rounded up: a limit under a second still limits.
  policy.max_age = std::chrono::ceil<std::chrono::seconds>(cfg.max_token_age);
  try {
    verifier_ = std::make_unique<jwt_verifier>(std::move(keys), policy);
  } catch (const std::invalid_argument& e) {
    throw config_error(std::string("[auth.keys]: ") + e.what());
  }
}

boost::system::result<principal, auth_failure> authenticator::verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  if (!verifier_) {
    return auth_failure{"invalid_token", "no signing keys are configured ([auth.keys]): nobody can sign in"};
  }
  auto verified = verifier_->verify(token, now);
  if (!verified) return failure_of(verified.error());
  principal p;
  if (const auto* sub = verified->claims.if_contains("sub"); sub && sub->is_string()) {
    p.subject = std::string(sub->get_string());
  }
  p.claims = std::move(verified->claims);
  p.expires_at = verified->expires_at;
  p.usable_until = verified->usable_until;
  if (auto refused = revoked(p, now)) return *refused;
  return p;
}

std::optional<auth_failure> authenticator::revoked(
    const principal& who, std::chrono::system_clock::time_point now) const {
  // iat and jti are read from the claims again: the principal of an open session is
  // checked too, long after its token was verified.
  token_identity id;
  id.subject = who.subject;
  if (const auto* jti = who.claims.if_contains("jti"); jti && jti->is_string())
    id.token_id = jti->get_string();
  std::int64_t iat = 0;
  if (read_claim_date(who.claims, "iat", iat) == claim_date_status::present)
    id.issued_at = time_of_seconds(iat);
  switch (revocations_->check(id, now)) {
    case deny_decision::allowed:
      return std::nullopt;
    case deny_decision::subject_revoked:
      return auth_failure{
          "token_revoked",
          "the tokens of this subject issued before its revocation are refused: sign in again"};
    case deny_decision::token_revoked:
      return auth_failure{"token_revoked", "this token (jti) has been revoked"};
  }
  return std::nullopt;
}

boost::system::result<principal, auth_failure> authenticator::verify_header(
    std::string_view authorization, std::chrono::system_clock::time_point now) const {
  constexpr std::string_view prefix = "Bearer ";
  if (authorization.empty()) {
    return auth_failure{"missing_token", "send Authorization: Bearer <token>"};
  }
  if (authorization.size() <= prefix.size() ||
      !std::equal(prefix.begin(), prefix.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                              std::tolower(static_cast<unsigned char>(b)); })) {
    return auth_failure{"invalid_token", "the Authorization header is not \"Bearer <token>\""};
  }
  return verify(authorization.substr(prefix.size()), now);
}

}  // namespace fieldsync::server
