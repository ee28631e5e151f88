// response_writer: the head it writes is the one Beast's serializer writes.
#include "server/net/response_writer.hpp"

#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using namespace fieldsync::server;

namespace {

std::string beast_text(const http_response& res) {
  std::ostringstream os;
  os << res;
  return os.str();
}

}  // namespace

TEST_CASE("the head of an answer is the bytes Beast's serializer writes") {
  SECTION("200 with a body, keep-alive, HTTP/1.1") {
    http_response res{http::status::ok, 11};
    res.set(http::field::server, "fieldsync");
    res.set(http::field::etag, "\"abc\"");
    res.set(http::field::content_type, "application/json");
    res.set("X-Custom-Field", "a value with : and spaces");
    res.keep_alive(true);
    res.body() = "{\"changes\":[]}\n";
    res.prepare_payload();
    CHECK(response_head(res) + res.body() == beast_text(res));
  }
  SECTION("304 without a body") {
    http_response res{http::status::not_modified, 11};
    res.set(http::field::etag, "\"abc\"");
    CHECK(response_head(res) == beast_text(res));
  }
  SECTION("HTTP/1.0, closing, an unusual status and a reason of its own") {
    http_response res{http::status::service_unavailable, 10};
    res.reason("Try Later");
    res.keep_alive(false);
    res.set(http::field::retry_after, "5");
    res.body() = "x";
    res.prepare_payload();
    CHECK(response_head(res) + res.body() == beast_text(res));
  }
  SECTION("HEAD: the Content-Length of the GET, no body") {
    http_response res{http::status::ok, 11};
    res.content_length(4096);
    CHECK(response_head(res) == beast_text(res));
    CHECK(response_head(res).find("Content-Length: 4096\r\n") != std::string::npos);
  }
  SECTION("a status code Beast has no name for") {
    http_response res;
    res.result(599);
    res.version(11);
    CHECK(response_head(res) == beast_text(res));
  }
}
