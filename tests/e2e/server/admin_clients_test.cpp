// The admin API's client list and disconnect through the real binary: who is connected
// (subject, client id, subscriptions), paging, one session by id, and closing one session or
// every session of a subject with close code 4003.

#include "tests/support/http_client.hpp"
#include "tests/support/mutation_fixture.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

http_reply admin(std::uint16_t port, http::verb method, const std::string& target) {
  return http_call(port, method, target, {},
                   {{"Authorization", std::string("Bearer ") + test_admin_token}});
}

// The listed client with this client id.
json::object client_named(const json::array& clients, const std::string& client_id) {
  for (const auto& c : clients) {
    if (c.at("client_id") == client_id.c_str()) return c.as_object();
  }
  FAIL("no client " << client_id << " in " << json::serialize(clients));
  return {};
}

// Reads until the server closes the session; its close code.
std::uint16_t close_code_of(sync_client& c) {
  for (int i = 0; i < 1000; ++i) {
    if (!c.raw().receive(10s)) return c.raw().close_code();
  }
  return 0;
}

}  // namespace

TEST_CASE("operators list connected clients and disconnect one, or all of a subject",
          "[e2e][admin][sync]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_mutation_schema(dsn, 3);
  server_process server(dsn, mutation_sections(db.name()));
  const auto port = server.public_port();
  const auto admin_port = server.admin_port();
  wait_for_log_rows(dsn, 3);

  sync_client tab1(port, hs256_token({{"sub", "u1"}}), "tab-1");
  tab1.seq_column = "";
  tab1.subscribe("items", "m_items");
  REQUIRE(tab1.run_until([&] { return tab1.view("items").up_to_date; }));
  sync_client tab2(port, hs256_token({{"sub", "u2"}}), "tab-2");
  sync_client tab3(port, hs256_token({{"sub", "u1"}}), "tab-3");

  CHECK(http_call(admin_port, http::verb::get, "/admin/v1/clients").status == 401);

  auto all = admin(admin_port, http::verb::get, "/admin/v1/clients");
  REQUIRE(all.status == 200);
  INFO(all.body);
  auto clients = all.json().at("clients").as_array();
  REQUIRE(clients.size() == 3);
  CHECK(all.json().at("next_after").is_null());
  auto first = client_named(clients, "tab-1");
  CHECK(first.at("subject") == "u1");
  CHECK(first.at("subscriptions") ==
        json::array{json::object{{"id", "items"}, {"collection", "m_items"}}});
  CHECK(std::string_view(first.at("remote").as_string()).starts_with("127.0.0.1:"));
  CHECK(first.at("pushes_waiting") == 0);
  CHECK(client_named(clients, "tab-2").at("subscriptions").as_array().empty());

  // Filtered by subject, and paged (this node's list: by session id).
  auto mine = admin(admin_port, http::verb::get, "/admin/v1/clients?subject=u1");
  REQUIRE(mine.status == 200);
  CHECK(mine.json().at("clients").as_array().size() == 2);
  auto page1 = admin(admin_port, http::verb::get, "/admin/v1/clients?node=local&limit=2");
  REQUIRE(page1.status == 200);
  CHECK(page1.json().at("clients").as_array().size() == 2);
  REQUIRE(page1.json().at("next_after").is_int64());
  auto page2 = admin(admin_port, http::verb::get,
                     "/admin/v1/clients?node=local&limit=2&after=" +
                         std::to_string(page1.json().at("next_after").as_int64()));
  REQUIRE(page2.status == 200);
  CHECK(page2.json().at("clients").as_array().size() == 1);
  CHECK(page2.json().at("next_after").is_null());
  CHECK(admin(admin_port, http::verb::get, "/admin/v1/clients?limit=0").status == 400);

  // One by id; unknown ids and malformed ones.
  const auto id2 = client_named(clients, "tab-2").at("id").as_int64();
  auto one = admin(admin_port, http::verb::get, "/admin/v1/clients/" + std::to_string(id2));
  REQUIRE(one.status == 200);
  CHECK(one.json().at("client_id") == "tab-2");
  CHECK(admin(admin_port, http::verb::get, "/admin/v1/clients/999999").status == 404);
  CHECK(admin(admin_port, http::verb::get, "/admin/v1/clients/abc").status == 400);

  // Disconnect one: it is closed with 4003, the others stay.
  auto gone = admin(admin_port, http::verb::delete_, "/admin/v1/clients/" + std::to_string(id2));
  REQUIRE(gone.status == 200);
  CHECK(gone.json().at("disconnected") == json::array{id2});
  CHECK(close_code_of(tab2) == 4003);

  // Every session of a subject; the subject is required.
  CHECK(admin(admin_port, http::verb::delete_, "/admin/v1/clients").status == 400);
  auto revoked = admin(admin_port, http::verb::delete_, "/admin/v1/clients?subject=u1");
  REQUIRE(revoked.status == 200);
  CHECK(revoked.json().at("disconnected").as_array().size() == 2);
  CHECK(close_code_of(tab1) == 4003);
  CHECK(close_code_of(tab3) == 4003);
  wait_until(
      [&] {
        return admin(admin_port, http::verb::get, "/admin/v1/clients")
            .json()
            .at("clients")
            .as_array()
            .empty();
      },
      10s, "the closed sessions leave the list");
  CHECK(server.terminate() == 0);
}
