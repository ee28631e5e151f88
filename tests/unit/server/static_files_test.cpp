// Static files (server/static_files): the path rules, content types and caching, and
// serve() against a directory with files, a precompressed sibling and symlinks.

#include "server/net/http_body.hpp"
#include "server/net/static_files.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

using namespace fieldsync::server;
namespace fs = std::filesystem;

namespace {

http_request get(std::string target, std::vector<std::pair<http::field, std::string>> headers = {}) {
  http_request req{http::verb::get, target, 11};
  for (auto& [f, v] : headers) req.set(f, v);
  return req;
}

http_response serve(const static_files& files, const std::string& target,
                    std::vector<std::pair<http::field, std::string>> headers = {}) {
  auto req = get(target, std::move(headers));
  return files.serve(req, target.substr(0, target.find('?')));
}

std::string header(const http_response& r, http::field f) { return std::string(r[f]); }

}  // namespace

TEST_CASE("static paths: segments are decoded one by one, and dot segments, hidden names and encoded separators are refused",
          "[static]") {
  using segs = std::vector<std::string>;
  CHECK(static_path_segments("/") == segs{});
  CHECK(static_path_segments("/index.html") == segs{"index.html"});
  CHECK(static_path_segments("/assets/app-X.js") == segs{"assets", "app-X.js"});
  CHECK(static_path_segments("/icons/") == segs{"icons"});
  CHECK(static_path_segments("/a%20b.txt") == segs{"a b.txt"});

  CHECK_FALSE(static_path_segments(""));
  CHECK_FALSE(static_path_segments("index.html"));
  CHECK_FALSE(static_path_segments("/../etc/passwd"));
  CHECK_FALSE(static_path_segments("/assets/../../etc/passwd"));
  CHECK_FALSE(static_path_segments("/./index.html"));
  CHECK_FALSE(static_path_segments("/%2e%2e/etc/passwd"));
  CHECK_FALSE(static_path_segments("/%2E%2E%2Fetc%2Fpasswd"));
  CHECK_FALSE(static_path_segments("/assets%2F..%2F..%2Fsecret"));
  CHECK_FALSE(static_path_segments("/..%5C..%5Csecret"));
  CHECK_FALSE(static_path_segments("/a%00.html"));
  CHECK_FALSE(static_path_segments("/.git/config"));
  CHECK_FALSE(static_path_segments("/.env"));
  CHECK_FALSE(static_path_segments("//etc/passwd"));
  CHECK_FALSE(static_path_segments("/assets//app.js"));
  CHECK_FALSE(static_path_segments("/bad%zzescape"));
}

TEST_CASE("static content types and caching follow the file name", "[static]") {
  CHECK(static_content_type("index.html") == "text/html; charset=utf-8");
  CHECK(static_content_type("app-5JQKZ2QX.js") == "text/javascript; charset=utf-8");
  CHECK(static_content_type("app.CSS") == "text/css; charset=utf-8");
  CHECK(static_content_type("manifest.webmanifest") == "application/manifest+json");
  CHECK(static_content_type("icon-192.png") == "image/png");
  CHECK(static_content_type("README") == "application/octet-stream");

  CHECK(is_content_hashed("app-5JQKZ2QX.js"));
  CHECK(is_content_hashed("app-EM5C5RNP.css"));
  CHECK(is_content_hashed("index-Bq3xZ9aP.js"));  // vite
  CHECK(is_content_hashed("chunk.1a2b3c4d.js"));
  CHECK_FALSE(is_content_hashed("sw.js"));
  CHECK_FALSE(is_content_hashed("manifest.webmanifest"));
  CHECK_FALSE(is_content_hashed("icon-192.png"));
  CHECK_FALSE(is_content_hashed("dashboard.js"));     // a word, not a hash
  CHECK_FALSE(is_content_hashed("page-5JQKZ2QX.html"));  // HTML is always revalidated

  CHECK(static_cache_control("app-5JQKZ2QX.js") == "public, max-age=31536000, immutable");
  CHECK(static_cache_control("index.html") == "no-cache");
  CHECK(static_cache_control("sw.js") == "no-cache");
  CHECK(static_cache_control("manifest.webmanifest") == "no-cache");
}

TEST_CASE("static_files serves files, directory indexes, ETags and gzip, and nothing outside its directory",
          "[static]") {
  fieldsync::test::temp_dir tmp("fieldsync-static");
  const auto root = tmp.path() / "app";
  fs::create_directories(root / "assets");
  fs::create_directories(root / "docs");
  const std::string big(4000, 'x');
  fieldsync::test::write_file(root / "index.html", "<!doctype html><title>app</title>");
  fieldsync::test::write_file(root / "assets" / "app-5JQKZ2QX.js", "console.log(1);" + big);
  fieldsync::test::write_file(root / "docs" / "index.html", "docs");
  fieldsync::test::write_file(root / "sw.js", "self.x = 1;" + big);
  fieldsync::test::write_file(root / ".secret", "hidden");
  fieldsync::test::write_file(tmp.path() / "outside.txt", "bytes from outside");
  fs::create_symlink(tmp.path() / "outside.txt", root / "link-out.txt");
  fs::create_directory_symlink(tmp.path(), root / "dir-out");
  fs::create_symlink(root / "index.html", root / "alias.html");
  static_files files(root);

  SECTION("a file, with its type, caching and a strong ETag; If-None-Match gives 304") {
    auto r = serve(files, "/assets/app-5JQKZ2QX.js");
    REQUIRE(r.result() == http::status::ok);
    CHECK(header(r, http::field::content_type) == "text/javascript; charset=utf-8");
    CHECK(header(r, http::field::cache_control) == "public, max-age=31536000, immutable");
    CHECK(header(r, http::field::vary) == "Accept-Encoding");
    CHECK(r.body() == "console.log(1);" + big);
    const auto etag = header(r, http::field::etag);
    CHECK(etag == etag_of(r.body()));
    auto again = serve(files, "/assets/app-5JQKZ2QX.js", {{http::field::if_none_match, etag}});
    CHECK(again.result() == http::status::not_modified);
    CHECK(again.body().empty());
  }

  SECTION("/ and a directory answer with their index.html, revalidated") {
    auto r = serve(files, "/");
    REQUIRE(r.result() == http::status::ok);
    CHECK(r.body() == "<!doctype html><title>app</title>");
    CHECK(header(r, http::field::cache_control) == "no-cache");
    CHECK(serve(files, "/docs/").body() == "docs");
    CHECK(serve(files, "/docs").body() == "docs");
    CHECK(serve(files, "/?v=2").body() == "<!doctype html><title>app</title>");
  }

  SECTION("gzip when accepted: compressed at load, or the precompressed sibling when it is not older") {
    auto plain = serve(files, "/sw.js");
    auto gz = serve(files, "/sw.js", {{http::field::accept_encoding, "gzip, deflate, br"}});
    REQUIRE(gz.result() == http::status::ok);
    CHECK(header(gz, http::field::content_encoding) == "gzip");
    CHECK(gz.body().size() < plain.body().size());
    CHECK(header(gz, http::field::etag) != header(plain, http::field::etag));
    // Either validator means the client holds the current bytes.
    CHECK(serve(files, "/sw.js", {{http::field::accept_encoding, "gzip"}, {http::field::if_none_match, header(plain, http::field::etag)}})
              .result() == http::status::not_modified);
    CHECK(serve(files, "/sw.js", {{http::field::accept_encoding, "gzip;q=0"}}).body() == plain.body());

    fieldsync::test::write_file(root / "sw.js.gz", gzip_compress("precompressed"));
    auto pre = serve(files, "/sw.js", {{http::field::accept_encoding, "gzip"}});
    CHECK(pre.body() == gzip_compress("precompressed"));
    // A rebuilt file newer than its .gz: the stale .gz is ignored, the file compressed anew.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    fieldsync::test::write_file(root / "sw.js", "self.y = 2;" + big);
    fs::last_write_time(root / "sw.js.gz", fs::last_write_time(root / "sw.js") - std::chrono::seconds(5));
    auto rebuilt = serve(files, "/sw.js");
    CHECK(rebuilt.body() == "self.y = 2;" + big);
    auto rebuilt_gz = serve(files, "/sw.js", {{http::field::accept_encoding, "gzip"}});
    CHECK(rebuilt_gz.body() == gzip_compress("self.y = 2;" + big));
  }

  SECTION("traversal, hidden files and symlinks out of the directory are refused") {
    for (const char* t : {"/../outside.txt", "/%2e%2e/outside.txt", "/assets/..%2f..%2foutside.txt",
                          "/link-out.txt", "/dir-out/outside.txt",
                          "/.secret", "/%2esecret", "/missing.js", "/assets"}) {
      INFO(t);
      auto r = serve(files, t);
      CHECK(r.result() == http::status::not_found);
      CHECK(r.body().find("bytes from outside") == std::string::npos);
      CHECK(r.body().find("hidden") == std::string::npos);
    }
    CHECK(serve(files, "/bad%zz").result() == http::status::bad_request);
    // A symlink that stays inside is followed; it is revalidated (its name has no hash).
    auto alias = serve(files, "/alias.html");
    CHECK(alias.result() == http::status::ok);
    CHECK(header(alias, http::field::cache_control) == "no-cache");
  }

  CHECK_THROWS_WITH(static_files(tmp.path() / "nope"), Catch::Contains("server.static_dir"));
  CHECK_THROWS_WITH(static_files(tmp.path() / "outside.txt"), Catch::Contains("not a directory"));
}
