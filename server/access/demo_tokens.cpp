#include "server/access/demo_tokens.hpp"

#include <boost/json/parse.hpp>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// PostgreSQL's text form of a bigint[] ("{1,2,3}") as a JSON array of numbers.
json::array int_array(std::string_view text) {
  json::array out;
  if (text.size() < 2) return out;
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    auto comma = text.find(',');
    out.push_back(std::stoll(std::string(text.substr(0, comma))));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

asio::awaitable<storage::pg_outcome<std::vector<demo_identity>>> async_demo_identities(
    storage::pg_connection& conn) {
  auto r = co_await conn.async_query(
      "SELECT p.role, p.id, p.region, "
      "  CASE p.role WHEN 'rep' THEN ARRAY[p.territory_id] "
      "  ELSE (SELECT array_agg(t.id ORDER BY t.id) FROM public.territories t WHERE t.region = "
      "p.region) END, "
      "  (SELECT array_agg(o.id ORDER BY o.id) FROM public.reps o WHERE o.region = p.region) "
      "FROM (SELECT DISTINCT ON (role) * FROM public.reps ORDER BY role, id) p ORDER BY p.role "
      "DESC");
  if (!r) co_return r.error();
  std::vector<demo_identity> out;
  for (int i = 0; i < r->rows(); ++i) {
    demo_identity d;
    d.label = std::string(r->value(i, 0));
    const auto id = std::stoll(std::string(r->value(i, 1)));
    d.claims["sub"] = d.label + "-" + std::to_string(id);
    d.claims["rep_id"] = id;
    d.claims["territories"] = int_array(r->value(i, 3));
    if (d.label == "manager") d.claims["reps"] = int_array(r->value(i, 4));
    d.claims["role"] = d.label;
    d.claims["region"] = std::string(r->value(i, 2));
    out.push_back(std::move(d));
  }
  co_return out;
}

std::string mint_token(const jwt_key& key, const auth_config& auth, json::object claims,
                       std::chrono::seconds ttl) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!claims.contains("iat")) claims["iat"] = now;
  if (!claims.contains("exp")) claims["exp"] = now + ttl.count();
  if (!auth.issuer.empty() && !claims.contains("iss")) claims["iss"] = auth.issuer;
  if (!auth.audience.empty() && !claims.contains("aud")) claims["aud"] = auth.audience;
  return mint_hs256(key, claims);
}

jwt_key minting_key(const auth_config& auth, const std::string& kid) {
  const jwt_key_config* found = nullptr;
  for (const auto& k : auth.keys) {
    if (k.alg != "HS256") continue;
    if (!kid.empty() ? k.kid == kid : !found) {
      found = &k;
      if (!kid.empty()) break;
    } else if (kid.empty()) {
      throw config_error("several HS256 keys are configured: choose one with --kid");
    }
  }
  if (!found) {
    throw config_error(kid.empty() ? "no HS256 key is configured ([auth.keys.*]) to sign with"
                                   : "no HS256 key \"" + kid + "\" in [auth.keys]");
  }
  return jwt_key{found->kid, jwt_algorithm::hs256, found->secret};
}

}  // namespace fieldsync::server
