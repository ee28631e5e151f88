#include "server/net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace fieldsync::server;
namespace asio = boost::asio;

namespace {

http_response call(const router& r, http::verb method, std::string target) {
  asio::io_context ioc;
  http_request req{method, target, 11};
  auto f = asio::co_spawn(ioc, r.dispatch(req), asio::use_future);
  ioc.run();
  return f.get();
}

route_handler echo(std::string name) {
  return [name](request_context& ctx) -> asio::awaitable<http_response> {
    std::string body = name;
    for (const auto& [k, v] : ctx.path_params) body += " " + k + "=" + v;
    body += " q=" + std::string(ctx.query);
    http_response res{http::status::ok, 11};
    res.body() = body;
    co_return res;
  };
}

}  // namespace

TEST_CASE("router matches literal and parameter segments", "[router]") {
  router r;
  r.add(http::verb::get, "/healthz", echo("health"));
  r.add(http::verb::get, "/v1/collections/{name}/rows/{key}/history", echo("history"));
  CHECK(call(r, http::verb::get, "/healthz").body() == "health q=");
  CHECK(call(r, http::verb::get, "/v1/collections/accounts/rows/a%2Fb/history?x=1").body() ==
        "history name=accounts key=a/b q=x=1");
  CHECK(call(r, http::verb::head, "/healthz").result() == http::status::ok);
}

TEST_CASE("router answers unknown paths and methods with JSON errors", "[router]") {
  router r;
  r.add(http::verb::get, "/healthz", echo("health"));
  auto nf = call(r, http::verb::get, "/nope");
  CHECK(nf.result() == http::status::not_found);
  auto body = boost::json::parse(nf.body());
  CHECK(body.at("error").at("code") == "not_found");

  auto na = call(r, http::verb::post, "/healthz");
  CHECK(na.result() == http::status::method_not_allowed);
  CHECK(na[http::field::allow] == "GET");
  CHECK(boost::json::parse(na.body()).at("error").at("code") == "method_not_allowed");

  // A parameter segment that does not decode to UTF-8 text: the route's 400, not a 404.
  r.add(http::verb::get, "/items/{id}", echo("item"));
  for (const auto* bad : {"/items/%zz", "/items/%FF", "/items/a%00"}) {
    auto res = call(r, http::verb::get, bad);
    CHECK(res.result() == http::status::bad_request);
    CHECK(boost::json::parse(res.body()).at("error").at("code") == "bad_path");
  }
  // Literal segments still decide: another path with such a segment is unknown.
  CHECK(call(r, http::verb::get, "/other/%FF").result() == http::status::not_found);
}

TEST_CASE("percent_decode", "[router]") {
  CHECK(percent_decode("a%20b") == "a b");
  CHECK(percent_decode("%41%4a") == "AJ");
  CHECK_FALSE(percent_decode("%4"));
  CHECK_FALSE(percent_decode("%"));
  CHECK_FALSE(percent_decode("%g1"));
  CHECK_FALSE(percent_decode("%FF"));
  CHECK_FALSE(percent_decode("%00"));
}
