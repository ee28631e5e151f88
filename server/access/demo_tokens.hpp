#pragma once
// Bearer tokens for trying fieldsync out: `fieldsync dev` prints one for a real rep and one
// for a real manager of its demo data, and `fieldsync token` mints any others
// (docs/demo.md, "Tokens").
//
// The demo's claims (config/fieldsync.toml's scopes read them): sub, rep_id, territories
// (a rep: its own; a manager: its region's), reps (a manager: its region's reps), role,
// region.

#include "server/core/config.hpp"
#include "server/access/jwt_verifier.hpp"
#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace fieldsync::server {

struct demo_identity {
  std::string label;  // "rep", "manager"
  boost::json::object claims;
};

// The first field rep and the first manager of the loaded demo, with their claims.
boost::asio::awaitable<storage::pg_outcome<std::vector<demo_identity>>> async_demo_identities(
    storage::pg_connection& conn);

// Signs `claims` with the HS256 key, adding iat and exp (now + ttl) unless present, and
// iss and aud when the [auth] section expects them.
std::string mint_token(const jwt_key& key, const auth_config& auth, boost::json::object claims,
                       std::chrono::seconds ttl);

// The HS256 key to mint with: the one named `kid` (or the only HS256 key) of the config.
// Throws config_error when there is none.
jwt_key minting_key(const auth_config& auth, const std::string& kid);

}  // namespace fieldsync::server
