#pragma once
// Answer bodies of the pull endpoints: ETag / If-None-Match, gzip, and the caching headers.
//
// Pull answers depend on the caller's token (the scope), so they are never shared between
// users by a cache: Cache-Control "private, no-cache" (a browser may keep the answer but
// revalidates it; a shared proxy must not store it) plus Vary: Authorization,
// Accept-Encoding. Revalidation is cheap: the ETag is a hash of the uncompressed body, so a
// client that already has the answer gets 304 without a body.
//
// Pure apart from zlib: no I/O.

#include "server/net/http_types.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::server {

// A body ready to serve many times: its ETag and, when worth it, its gzip form.
struct prepared_body {
  std::string content_type;
  std::string body;
  std::string gzipped;  // empty: not compressed (small bodies)
  std::string etag;     // "\"<16 hex digits>\""
  // Headers that belong to the answer (the Shape API's electric-*), served with it.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Hashes and (above min_gzip_bytes) compresses once.
std::shared_ptr<prepared_body> prepare_body(std::string content_type, std::string body,
                                            std::size_t min_gzip_bytes = 1024);

// "\"<hex>\"": a 64-bit FNV-1a of the bytes.
std::string etag_of(std::string_view body);

// Whether If-None-Match names `etag` (or is "*"); weak validators compare equal.
bool etag_matches(const http_request& req, std::string_view etag);

// Whether Accept-Encoding allows gzip (present and not q=0).
bool accepts_gzip(const http_request& req);

// The gzip (RFC 1952) form of `data`.
std::string gzip_compress(std::string_view data);

// Incremental gzip for streamed answers: each push returns what is ready to send.
class gzip_stream {
 public:
  gzip_stream();
  ~gzip_stream();
  gzip_stream(const gzip_stream&) = delete;
  gzip_stream& operator=(const gzip_stream&) = delete;

  std::string push(std::string_view data);  // flushed (Z_SYNC_FLUSH): the client sees it now
  std::string finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// 200 with the prepared body (gzipped when the client accepts it), or 304 when the client
// holds it already. `cache_control` defaults to "private, no-cache".
http_response serve_body(const http_request& req, const prepared_body& body,
                         std::string_view cache_control = "private, no-cache");

// An error answer with the extra fields of a bad parameter.
http_response parameter_error(const http_request& req, std::string_view code,
                              std::string_view message, std::string_view parameter,
                              std::optional<std::size_t> position);

}  // namespace fieldsync::server
