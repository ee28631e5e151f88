#pragma once
// Which web origins may open a WebSocket (websocket.allowed_origins, docs/config.md).
//
// Browsers send Origin with every WebSocket upgrade and let any page connect anywhere, so
// the server decides. The rules:
//   - no Origin header: allowed (not a browser; such clients can claim any origin anyway);
//   - an empty list: same origin only, i.e. the Origin's host and port equal the request's
//     Host (default ports 80/443 implied), which is what a PWA served by the same host
//     needs and refuses every other site;
//   - "*": any origin;
//   - "https://app.example.com": that origin exactly (scheme, host, port; case-insensitive);
//   - "http://localhost:*": that scheme and host on any port (development servers).
//
// Pure; any thread.

#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin,
                    std::string_view host, bool origin_present);

// A configured entry's shape is valid ("*", "null", scheme://host[:port|:*]).
bool valid_origin_pattern(std::string_view pattern);

}  // namespace fieldsync::server
