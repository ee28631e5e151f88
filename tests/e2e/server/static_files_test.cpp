// server.static_dir: the real binary serves a directory at / next to the API, over real
// sockets: types, caching, ETag/304, gzip, HEAD, and no way out of the directory (raw
// request targets with "..", encoded dots and slashes, symlinks pointing out).

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

std::string status_line(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

}  // namespace

TEST_CASE("the public listener serves server.static_dir for paths the API does not own", "[e2e][static]") {
  temp_dir tmp("fieldsync-static-e2e");
  const auto root = tmp.path() / "app";
  fs::create_directories(root / "assets");
  write_file(root / "index.html", "<!doctype html><title>shell</title>");
  write_file(root / "assets" / "app-5JQKZ2QX.js", "export const x = 1;" + std::string(5000, ' '));
  write_file(root / "manifest.webmanifest", R"({"name":"app"})");
  write_file(root / "sw.js", "self.addEventListener('fetch', () => {});");
  write_file(tmp.path() / "secret.txt", "top secret");
  fs::create_symlink(tmp.path() / "secret.txt", root / "secret-link.txt");
  fs::create_directory_symlink(tmp.path(), root / "up");

  fresh_database db;
  server_process server(db.conninfo(), "", {{"FIELDSYNC_SERVER_STATIC_DIR", root.string()}});
  const auto port = server.public_port();

  SECTION("the shell, assets, manifest and service worker with their types and caching") {
    auto index = http_call(port, http::verb::get, "/");
    CHECK(index.status == 200);
    CHECK(index.body == "<!doctype html><title>shell</title>");
    CHECK(index.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(index.header("Cache-Control") == "no-cache");

    auto js = http_call(port, http::verb::get, "/assets/app-5JQKZ2QX.js");
    CHECK(js.status == 200);
    CHECK(js.header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(js.header("Cache-Control") == "public, max-age=31536000, immutable");

    auto manifest = http_call(port, http::verb::get, "/manifest.webmanifest");
    CHECK(manifest.header("Content-Type") == "application/manifest+json");
    CHECK(manifest.header("Cache-Control") == "no-cache");
    CHECK(http_call(port, http::verb::get, "/sw.js").header("Cache-Control") == "no-cache");

    auto revalidated = http_call(port, http::verb::get, "/assets/app-5JQKZ2QX.js", {},
                                 {{"If-None-Match", js.header("ETag")}});
    CHECK(revalidated.status == 304);
    CHECK(revalidated.body.empty());

    auto gz = http_call(port, http::verb::get, "/assets/app-5JQKZ2QX.js", {}, {{"Accept-Encoding", "gzip"}});
    CHECK(gz.status == 200);
    CHECK(gz.header("Content-Encoding") == "gzip");
    CHECK(gz.body.size() < js.body.size());

    auto head = http_call(port, http::verb::head, "/");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("Content-Length") == std::to_string(index.body.size()));
  }

  SECTION("the API keeps its paths and answers; other methods are not files") {
    auto health = http_call(port, http::verb::get, "/healthz");
    CHECK(health.status == 200);
    CHECK(health.json().at("status") == "ok");
    auto api = http_call(port, http::verb::get, "/v1/nothing-here");
    CHECK(api.status == 404);
    CHECK(api.json().at("error").at("code") == "not_found");
    CHECK(http_call(port, http::verb::post, "/index.html").status == 404);
    CHECK(http_call(port, http::verb::get, "/missing.js").status == 404);
  }

  SECTION("nothing outside the directory is reachable") {
    for (const char* target : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                               "/%2E%2E%2Fsecret.txt", "/assets%2F..%2F..%2Fsecret.txt",
                               "/..%5Csecret.txt", "/secret-link.txt", "/up/secret.txt",
                               "/.%2e/secret.txt"}) {
      INFO(target);
      // A raw request line: no client library normalises the target on the way.
      auto raw = raw_exchange(port, "GET " + std::string(target) +
                                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      CHECK(status_line(raw) == "HTTP/1.1 404 Not Found");
      CHECK(raw.find("top secret") == std::string::npos);
    }
  }

  CHECK(server.terminate() == 0);
}

TEST_CASE("a server.static_dir that is not a directory stops the start with one line", "[e2e][static]") {
  fresh_database db;
  temp_dir tmp("fieldsync-static-missing");
  write_file(tmp.path() / "fieldsync.toml", base_config(db.conninfo()));
  child_process p({fieldsync_binary().string(), "serve", "--config", (tmp.path() / "fieldsync.toml").string()},
                  {{"FIELDSYNC_SERVER_STATIC_DIR", (tmp.path() / "nope").string()}});
  auto code = p.wait_exit(60s);
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK_THAT(p.transcript(), Catch::Contains("server.static_dir") && Catch::Contains("is not a directory"));
}
