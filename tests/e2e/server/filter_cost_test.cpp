// What a client's filter may cost the server (issue 15, items 2 and 3), against the real
// binary over a real WebSocket: a LIKE pattern bound through $1 is held to the pattern limit
// (a clear error, the session goes on), a pathological pattern within it is matched on long
// rows without freezing the reactor (/healthz answers while it runs), and one large array
// parameter used many times is refused with a clear error instead of being copied per use.

#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/sync_workload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

void subscribe_with_params(sync_client& c, const std::string& id, const std::string& where,
                           json::array params) {
  c.view(id);
  json::object m{{"type", "subscribe"},
                 {"id", id},
                 {"collection", "items"},
                 {"where", where},
                 {"params", std::move(params)}};
  c.raw().send(json::serialize(m));
}

// The error the server sent for subscription `id` (waits for it).
std::optional<json::object> error_for(sync_client& c, const std::string& id) {
  auto find = [&]() -> const json::object* {
    for (const auto& e : c.protocol_errors()) {
      if (e.contains("id") && e.at("id") == json::value(id)) return &e;
    }
    return nullptr;
  };
  if (!c.run_until([&] { return find() != nullptr; }, 30s)) return std::nullopt;
  return *find();
}

bool healthy(server_process& server) {
  return http_call(server.public_port(), http::verb::get, "/healthz").status == 200 &&
         http_call(server.admin_port(), http::verb::get, "/healthz").status == 200;
}

}  // namespace

TEST_CASE("filter cost: LIKE patterns and large parameters over a real WebSocket",
          "[e2e][filter][limits]") {
  fresh_database db;
  const auto dsn = db.conninfo();
  create_items_schema(dsn);
  seed_items(dsn, 20, 2);
  server_process server(dsn, live_sync_sections(db));
  wait_for_collection(dsn, "items");

  sync_client c(server.public_port(), test_token("alice", {1, 2}), "alice");
  c.seq_column = "";

  // A pattern over the limit (256 bytes), bound through $1: refused, clearly.
  subscribe_with_params(c, "long", "payload LIKE $1", json::array{std::string(5000, '%') + "b"});
  auto refused = error_for(c, "long");
  REQUIRE(refused);
  CHECK(refused->at("code") == "filter_too_large");
  CHECK(refused->at("position") == 13);
  CHECK(std::string(refused->at("message").as_string()).find("a LIKE pattern has at most 256") !=
        std::string::npos);

  // One array parameter named many times: refused before it is converted per use.
  json::array ids;
  for (int i = 0; i < 1000; ++i) ids.emplace_back(i);
  std::string many;
  for (int i = 0; i < 40; ++i) many += std::string(i ? " OR " : "") + "id = ANY($1)";
  subscribe_with_params(c, "many", many, json::array{ids});
  auto amplified = error_for(c, "many");
  REQUIRE(amplified);
  CHECK(amplified->at("code") == "filter_too_many_nodes");

  // The pathological pattern within the limit: accepted, and it works.
  std::string pattern;
  for (int i = 0; i < 120; ++i) pattern += "%a";
  pattern += "%b";
  subscribe_with_params(c, "slow", "payload LIKE $1", json::array{pattern});
  REQUIRE(c.run_until([&] { return c.view("slow").up_to_date; }, 60s));
  CHECK(c.view("slow").rows.empty());

  // Long rows: one that matches (a's, then b) and one that does not (only a's). Each
  // evaluation reads the text once; the server keeps answering while they are judged.
  const std::string text(200000, 'a');
  query_text(dsn, "INSERT INTO items (id, territory_id, payload) VALUES (5001, 1, '" + text +
                      "'), (5002, 1, '" + text + "b') RETURNING 1");
  CHECK(healthy(server));
  REQUIRE(c.run_until([&] { return c.view("slow").rows.contains("5002"); }, 60s));
  CHECK_FALSE(c.view("slow").rows.contains("5001"));
  CHECK(healthy(server));
  CHECK(c.errors().empty());
  CHECK_FALSE(c.closed());
}
