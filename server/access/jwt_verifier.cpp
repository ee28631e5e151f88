#include "server/access/jwt_verifier.hpp"

#include "server/access/token_time.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>

namespace fieldsync::server {

namespace json = boost::json;

namespace {

class jwt_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.jwt"; }
  std::string message(int ev) const override {
    switch (static_cast<jwt_errc>(ev)) {
      case jwt_errc::malformed: return "malformed token";
      case jwt_errc::too_large: return "token too large";
      case jwt_errc::unknown_kid: return "unknown key id";
      case jwt_errc::algorithm_not_allowed: return "algorithm not allowed for this key";
      case jwt_errc::bad_signature: return "bad signature";
      case jwt_errc::expired: return "token expired";
      case jwt_errc::not_yet_valid: return "token not yet valid";
      case jwt_errc::missing_exp: return "token has no expiry";
      case jwt_errc::wrong_issuer: return "wrong issuer";
      case jwt_errc::wrong_audience: return "wrong audience";
      case jwt_errc::issued_in_future:
        return "token issued in the future (iat)";
      case jwt_errc::too_old:
        return "token issued too long ago (iat)";
      case jwt_errc::missing_iat:
        return "token has no iat";
    }
    return "unknown jwt error";
  }
};

// RFC 4648 section 5, without padding (JWS compact serialisation). nullopt on any other byte.
std::optional<std::string> base64url_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<json::object> decode_json_part(std::string_view part) {
  auto bytes = base64url_decode(part);
  if (!bytes) return std::nullopt;
  json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  auto v = json::parse(*bytes, ec, {}, opts);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

jwt_alg_t libjwt_alg(jwt_algorithm a) {
  switch (a) {
    case jwt_algorithm::hs256: return JWT_ALG_HS256;
    case jwt_algorithm::rs256: return JWT_ALG_RS256;
    case jwt_algorithm::es256: return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

void check_key_material(const jwt_key& key) {
  if (key.alg == jwt_algorithm::hs256) {
    // RFC 7518 3.2: an HS256 key must have at least 256 bits.
    if (key.material.size() < 32) {
      throw std::invalid_argument("JWT key \"" + key.kid + "\": an HS256 secret needs at least 32 bytes");
    }
    return;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key.material.data(), static_cast<int>(key.material.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!pkey) {
    throw std::invalid_argument("JWT key \"" + key.kid + "\": not a PEM public key");
  }
  int type = EVP_PKEY_base_id(pkey.get());
  if (key.alg == jwt_algorithm::rs256 && type != EVP_PKEY_RSA) {
    throw std::invalid_argument("JWT key \"" + key.kid + "\": RS256 needs an RSA public key");
  }
  if (key.alg == jwt_algorithm::es256 && type != EVP_PKEY_EC) {
    throw std::invalid_argument("JWT key \"" + key.kid + "\": ES256 needs an EC P-256 public key");
  }
}

}  // namespace

boost::system::error_code check_token_times(const json::object& claims, const jwt_policy& policy,
                                            std::chrono::system_clock::time_point now) {
  // Every operand is within numeric_date_limit (token_time.hpp) or a bounded config
  // duration (clamped again here), so no sum below can overflow.
  const std::int64_t now_s = seconds_of(now);
  const std::int64_t leeway =
      std::clamp<std::int64_t>(policy.leeway.count(), 0, numeric_date_limit);
  const std::int64_t max_age =
      std::clamp<std::int64_t>(policy.max_age.count(), 0, numeric_date_limit);
  std::int64_t exp = 0;
  std::int64_t nbf = 0;
  std::int64_t iat = 0;
  auto has_exp = read_claim_date(claims, "exp", exp);
  auto has_nbf = read_claim_date(claims, "nbf", nbf);
  auto has_iat = read_claim_date(claims, "iat", iat);
  if (has_exp == claim_date_status::malformed || has_nbf == claim_date_status::malformed ||
      has_iat == claim_date_status::malformed) {
    return jwt_errc::malformed;
  }
  if (has_exp == claim_date_status::absent) return jwt_errc::missing_exp;
  if (now_s > exp + leeway) return jwt_errc::expired;
  if (has_nbf == claim_date_status::present && now_s + leeway < nbf) return jwt_errc::not_yet_valid;
  // A token "issued" in the future would outlive every age limit and every revocation of
  // its subject (those refuse tokens issued before them).
  if (has_iat == claim_date_status::present && iat > now_s + leeway)
    return jwt_errc::issued_in_future;
  if (max_age > 0) {
    if (has_iat == claim_date_status::absent) return jwt_errc::missing_iat;
    if (now_s > iat + max_age + leeway) return jwt_errc::too_old;
  }
  return {};
}

const boost::system::error_category& jwt_category() noexcept {
  static const jwt_category_impl instance;
  return instance;
}

bool parse_jwt_alg(std::string_view name, jwt_algorithm& out) {
  if (name == "HS256") out = jwt_algorithm::hs256;
  else if (name == "RS256") out = jwt_algorithm::rs256;
  else if (name == "ES256") out = jwt_algorithm::es256;
  else return false;
  return true;
}

std::string_view to_string(jwt_algorithm alg) {
  switch (alg) {
    case jwt_algorithm::hs256: return "HS256";
    case jwt_algorithm::rs256: return "RS256";
    case jwt_algorithm::es256: return "ES256";
  }
  return "?";
}

jwt_verifier::jwt_verifier(std::vector<jwt_key> keys, jwt_policy policy)
    : keys_(std::move(keys)), policy_(std::move(policy)) {
  for (const auto& k : keys_) check_key_material(k);
}

boost::system::result<verified_token> jwt_verifier::verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  if (token.size() > policy_.max_token_bytes) return jwt_errc::too_large;
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return jwt_errc::malformed;
  }
  auto header = decode_json_part(token.substr(0, dot1));
  auto claims = decode_json_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!header || !claims) return jwt_errc::malformed;

  // The key first, by kid; then its pinned algorithm must be the one the header names.
  const jwt_key* key = nullptr;
  if (const auto* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return jwt_errc::malformed;
    for (const auto& k : keys_) {
      if (k.kid == kid->get_string()) key = &k;
    }
  } else if (keys_.size() == 1) {
    key = &keys_.front();
  }
  if (!key) return jwt_errc::unknown_kid;
  const auto* alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->get_string() != to_string(key->alg)) {
    return jwt_errc::algorithm_not_allowed;
  }

  jwt_t* raw = nullptr;
  std::string token_z(token);
  int rc = jwt_decode(&raw, token_z.c_str(),
                      reinterpret_cast<const unsigned char*>(key->material.data()),
                      static_cast<int>(key->material.size()));
  std::unique_ptr<jwt_t, decltype(&jwt_free)> decoded(raw, &jwt_free);
  if (rc != 0 || !decoded || jwt_get_alg(decoded.get()) != libjwt_alg(key->alg)) {
    return jwt_errc::bad_signature;
  }

  if (auto times = check_token_times(*claims, policy_, now); times) return times;

  if (!policy_.issuer.empty()) {
    const auto* iss = claims->if_contains("iss");
    if (!iss || !iss->is_string() || iss->get_string() != policy_.issuer) return jwt_errc::wrong_issuer;
  }
  if (!policy_.audience.empty()) {
    const auto* aud = claims->if_contains("aud");
    bool ok = false;
    if (aud && aud->is_string()) ok = aud->get_string() == policy_.audience;
    if (aud && aud->is_array()) {
      for (const auto& a : aud->get_array()) ok = ok || (a.is_string() && a.get_string() == policy_.audience);
    }
    if (!ok) return jwt_errc::wrong_audience;
  }

  verified_token out;
  std::int64_t exp = 0;
  std::int64_t iat = 0;
  read_claim_date(*claims, "exp", exp);
  out.expires_at = time_of_seconds(exp);
  out.usable_until = out.expires_at;
  if (read_claim_date(*claims, "iat", iat) == claim_date_status::present) {
    out.issued_at = iat;
    // Both operands are within numeric_date_limit (check_token_times), so the sum fits.
    const std::int64_t max_age =
        std::clamp<std::int64_t>(policy_.max_age.count(), 0, numeric_date_limit);
    if (max_age > 0) out.usable_until = std::min(out.usable_until, time_of_seconds(iat + max_age));
  }
  out.kid = key->kid;
  out.claims = std::move(*claims);
  return out;
}

std::string mint_hs256(const jwt_key& key, const json::object& claims) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  std::unique_ptr<jwt_t, decltype(&jwt_free)> token(raw, &jwt_free);
  if (!key.kid.empty()) jwt_add_header(token.get(), "kid", key.kid.c_str());
  if (jwt_add_grants_json(token.get(), json::serialize(claims).c_str()) != 0 ||
      jwt_set_alg(token.get(), JWT_ALG_HS256,
                  reinterpret_cast<const unsigned char*>(key.material.data()),
                  static_cast<int>(key.material.size())) != 0) {
    throw std::runtime_error("cannot sign a token with key \"" + key.kid + "\"");
  }
  // libjwt 1.10 returns malloc()ed strings.
  std::unique_ptr<char, decltype(&std::free)> encoded(jwt_encode_str(token.get()), &std::free);
  if (!encoded) throw std::runtime_error("cannot encode a token");
  return encoded.get();
}

}  // namespace fieldsync::server
