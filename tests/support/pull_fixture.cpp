#include "tests/support/pull_fixture.hpp"

#include "tests/support/feed_workload.hpp"

#include <jwt.h>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace fieldsync::test {

std::string sign_token(const boost::json::object& claims) {
  jwt_t* raw = nullptr;
  REQUIRE(jwt_new(&raw) == 0);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> t(raw, &jwt_free);
  jwt_add_header(t.get(), "kid", "test");
  auto all = claims;
  if (!all.contains("sub")) all["sub"] = "tester";
  all["exp"] = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() +
               3600;
  REQUIRE(jwt_add_grants_json(t.get(), boost::json::serialize(all).c_str()) == 0);
  std::string secret(pull_secret);
  REQUIRE(jwt_set_alg(t.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                      static_cast<int>(secret.size())) == 0);
  std::unique_ptr<char, decltype(&std::free)> s(jwt_encode_str(t.get()), &std::free);
  REQUIRE(s);
  return s.get();
}

void create_pull_schema(const std::string& conninfo) {
  exec_sql(conninfo,
           "CREATE TABLE pull_accounts (id bigint PRIMARY KEY, territory_id int NOT NULL, "
           "stage text, amount numeric, note text)");
}

std::string pull_sections(const std::string& db_name, const std::string& extra_pulls) {
  return "[replication]\n"
         "slot = \"fs_" +
         db_name +
         "\"\n"
         "publication = \"fs_" +
         db_name +
         "\"\n"
         "heartbeat_interval_ms = 500\n"
         "reconnect_min_ms = 50\n"
         "reconnect_max_ms = 500\n"
         "leader_retry_ms = 200\n\n"
         "[auth.keys.test]\n"
         "alg = \"HS256\"\n"
         "secret = \"" +
         std::string(pull_secret) +
         "\"\n\n"
         "[collections.accounts]\n"
         "table = \"pull_accounts\"\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"territory_id = ANY($claims.territories)\"\n\n"
         "[pulls]\n" +
         extra_pulls + "\n";
}

void wait_for_pull_log(const std::string& conninfo, int timeout_s) {
  static std::atomic<std::int64_t> marker{-1};
  auto id = std::to_string(marker--);
  exec_sql(conninfo, "INSERT INTO pull_accounts (id, territory_id, stage) VALUES (" + id +
                         ", 999999, 'marker')");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    std::string found;
    try {
      found = query_value(conninfo,
                          "SELECT count(*) FROM fieldsync.rows WHERE collection = "
                          "'accounts' AND key = '" +
                              id + "'");
    } catch (const std::exception&) {
    }
    if (found == "1") return;
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("the change log did not get marker " << id);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace fieldsync::test
