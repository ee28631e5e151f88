#include "server/net/origin_policy.hpp"

#include <algorithm>
#include <cctype>

namespace fieldsync::server {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct parsed_origin {
  std::string scheme;
  std::string host;
  std::string port;  // explicit, or the scheme's default; "*" in a pattern
};

bool parse(std::string_view text, parsed_origin& out, bool pattern) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  out.scheme = lower(text.substr(0, sep));
  std::string_view authority = text.substr(sep + 3);
  if (authority.empty() || authority.find_first_of("/?#@ ") != std::string_view::npos) return false;
  std::string_view host = authority, port;
  auto colon = authority.rfind(':');
  // An IPv6 literal has colons inside its brackets.
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return false;
    bool wildcard = pattern && port == "*";
    if (!wildcard &&
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return false;
    }
  }
  if (host.empty()) return false;
  out.host = lower(host);
  if (!port.empty())
    out.port = std::string(port);
  else if (out.scheme == "https" || out.scheme == "wss")
    out.port = "443";
  else if (out.scheme == "http" || out.scheme == "ws")
    out.port = "80";
  else
    out.port = "";
  return true;
}

// The Host header's host and port, with the port defaulted like the origin's scheme.
bool same_authority(const parsed_origin& o, std::string_view host_header) {
  std::string host = lower(host_header);
  std::string port = o.port;
  auto colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    port = host.substr(colon + 1);
    host.resize(colon);
  }
  return !host.empty() && host == o.host && port == o.port;
}

}  // namespace

bool valid_origin_pattern(std::string_view pattern) {
  if (pattern == "*" || pattern == "null") return true;
  parsed_origin p;
  return parse(pattern, p, true);
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin,
                    std::string_view host, bool origin_present) {
  if (!origin_present) return true;
  parsed_origin o;
  const bool parsed = parse(origin, o, false);
  if (allowed.empty()) return parsed && same_authority(o, host);
  for (const auto& entry : allowed) {
    if (entry == "*") return true;
    if (entry == "null") {
      if (origin == "null") return true;
      continue;
    }
    parsed_origin p;
    if (!parsed || !parse(entry, p, true)) continue;
    if (p.scheme == o.scheme && p.host == o.host && (p.port == "*" || p.port == o.port))
      return true;
  }
  return false;
}

}  // namespace fieldsync::server
