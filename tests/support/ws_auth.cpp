#include "tests/support/ws_auth.hpp"

#include "tests/support/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <stdexcept>

namespace fieldsync::test {

namespace json = boost::json;
using namespace std::chrono_literals;

std::uint16_t hello_outcome(std::uint16_t port, const std::string& token) {
  ws_client ws(port);
  ws.send(json::serialize(
      json::object{{"type", "hello"}, {"token", token}, {"client_id", "c1"}, {"protocol", 1}}));
  auto m = ws.receive(30s);
  if (!m) return ws.close_code();
  CHECK(json::parse(*m).at("type") == "welcome");
  return 0;
}

unsigned upgrade_status(std::uint16_t port, const std::string& token) {
  try {
    ws_client ws(port, "/v1/ws", "fieldsync.v1", {{"Authorization", "Bearer " + token}});
    return 101;
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    auto at = what.find("HTTP ");
    return at == std::string::npos ? 0 : static_cast<unsigned>(std::stoi(what.substr(at + 5, 3)));
  }
}

}  // namespace fieldsync::test
