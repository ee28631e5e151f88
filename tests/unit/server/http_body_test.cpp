#include "server/net/http_body.hpp"
#include "server/pull/response_cache.hpp"

#include <zlib.h>
#include <catch2/catch.hpp>

using namespace fieldsync::server;

namespace {

http_request get(std::vector<std::pair<http::field, std::string>> fields = {}) {
  http_request req{http::verb::get, "/x", 11};
  for (auto& [f, v] : fields) req.set(f, v);
  return req;
}

std::string gunzip(const std::string& data) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  char buf[4096];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.append(buf, sizeof(buf) - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("ETag: 304 for a matching If-None-Match, in any of its forms", "[pulls]") {
  auto body = prepare_body("application/json", std::string(10, 'x'));
  CHECK(body->etag.size() == 18);
  CHECK(body->etag != etag_of("other"));
  CHECK(serve_body(get(), *body).result() == http::status::ok);
  for (std::string inm :
       {body->etag, "W/" + body->etag, "\"zz\", " + body->etag, std::string("*")}) {
    CAPTURE(inm);
    auto res = serve_body(get({{http::field::if_none_match, inm}}), *body);
    CHECK(res.result() == http::status::not_modified);
    CHECK(res.body().empty());
    CHECK(res[http::field::etag] == body->etag);
  }
  CHECK(serve_body(get({{http::field::if_none_match, "\"other\""}}), *body).result() ==
        http::status::ok);
}

TEST_CASE("caching headers keep shared caches from mixing users", "[pulls]") {
  auto body = prepare_body("application/json", "{}");
  auto res = serve_body(get(), *body);
  CHECK(res[http::field::cache_control] == "private, no-cache");
  CHECK(res[http::field::vary].find("Authorization") != std::string::npos);
}

TEST_CASE("gzip when accepted and worth it", "[pulls]") {
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += "{\"op\":\"upsert\",\"key\":\"" + std::to_string(i) + "\"}\n";
  auto body = prepare_body("application/json", text);
  REQUIRE_FALSE(body->gzipped.empty());
  CHECK(gunzip(body->gzipped) == text);
  auto res = serve_body(get({{http::field::accept_encoding, "br, gzip;q=0.8"}}), *body);
  CHECK(res[http::field::content_encoding] == "gzip");
  CHECK(gunzip(res.body()) == text);
  CHECK(serve_body(get({{http::field::accept_encoding, "gzip;q=0"}}), *body).body() == text);
  CHECK(serve_body(get(), *body).body() == text);
  CHECK(prepare_body("application/json", "{}")->gzipped.empty());

  gzip_stream s;
  std::string z = s.push(text.substr(0, 100));
  z += s.push(text.substr(100));
  z += s.finish();
  CHECK(gunzip(z) == text);
}

TEST_CASE("response cache: generation, ttl and size bound", "[pulls]") {
  using namespace std::chrono_literals;
  response_cache cache(64 * 1024, 1000ms);
  auto t0 = std::chrono::steady_clock::now();
  auto body = prepare_body("application/json", std::string(1000, 'a'));
  cache.put("k", 1, t0, body);
  CHECK(cache.find("k", 1, t0 + 10ms) == body);
  CHECK(cache.find("k", 2, t0 + 10ms) == nullptr);  // the log moved
  cache.put("k", 1, t0, body);
  CHECK(cache.find("k", 1, t0 + 2s) == nullptr);  // too old
  CHECK(cache.find_stale("k", 1) == body);        // but there while it is recomputed
  CHECK(cache.find_stale("k", 2) == nullptr);
  for (int i = 0; i < 200; ++i) cache.put("k" + std::to_string(i), 1, t0, body);
  CHECK(cache.bytes() <= 64 * 1024);
  CHECK(cache.find("k199", 1, t0) != nullptr);
  CHECK(cache.find("k0", 1, t0) == nullptr);  // evicted, least recent first
}
