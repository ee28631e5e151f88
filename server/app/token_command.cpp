#include "server/app/token_command.hpp"

#include "server/access/demo_tokens.hpp"

#include <boost/json/parse.hpp>

#include <fstream>
#include <iostream>

namespace fieldsync::server {

namespace json = boost::json;

int token_command(config cfg, const token_options& opts) {
  boost::system::error_code ec;
  auto claims = json::parse(opts.claims, ec);
  if (ec || !claims.is_object()) {
    throw config_error("the claims are not a JSON object: " + opts.claims);
  }
  // Bounded so that now + ttl cannot overflow (and stays below token_time.hpp's limit).
  constexpr long long max_ttl = 100LL * 365 * 24 * 3600;
  if (opts.ttl_seconds <= 0 || opts.ttl_seconds > max_ttl) {
    throw config_error("--ttl must be 1 to " + std::to_string(max_ttl) + " seconds (100 years)");
  }
  if (cfg.auth.keys.empty()) {
    // The key `fieldsync dev` signs with (and verifies against), as it kept it.
    const auto file = opts.data_dir / "jwt_secret";
    std::ifstream in(file);
    std::string secret;
    if (!in || !std::getline(in, secret) || secret.size() < 32) {
      throw config_error(
          "cannot read the dev signing key " + file.string() +
          " (run `fieldsync dev` once, or pass --data-dir, or configure [auth.keys])");
    }
    cfg.auth.keys.push_back({"dev", "HS256", secret, ""});
  }
  auto key = minting_key(cfg.auth, opts.kid);
  std::cout << mint_token(key, cfg.auth, std::move(claims.as_object()),
                          std::chrono::seconds(opts.ttl_seconds))
            << std::endl;
  return 0;
}

}  // namespace fieldsync::server
