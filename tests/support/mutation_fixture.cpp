#include "tests/support/mutation_fixture.hpp"

#include "protocol/json_parse.hpp"
#include "tests/support/feed_workload.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <thread>

namespace fieldsync::test {

void create_mutation_schema(const std::string& dsn, int rows, const std::string& owner) {
  exec_sql(dsn,
           "CREATE TABLE m_items (id int PRIMARY KEY, owner text NOT NULL, title text, "
           "hits bigint NOT NULL DEFAULT 0 CHECK (hits >= 0), tags text[] NOT NULL DEFAULT '{}', "
           "note text)");
  exec_sql(dsn, "INSERT INTO m_items (id, owner, title) SELECT g, '" + owner +
                    "', 'title ' || g FROM generate_series(1, " + std::to_string(rows) + ") g");
}

std::string mutation_sections(const std::string& database, const std::string& mutations_extra) {
  return "[replication]\n"
         "slot = \"fs_" + database + "\"\n"
         "publication = \"fs_" + database + "\"\n"
         "heartbeat_interval_ms = 200\n"
         "reconnect_min_ms = 50\n"
         "reconnect_max_ms = 1000\n"
         "leader_retry_ms = 200\n"
         "[mutations]\n"
         "version_wait_ms = 10000\n" +
         mutations_extra + "\n" + test_auth_toml() +
         "[collections.m_items]\n"
         "primary_key = [\"id\"]\n"
         "read_scope = \"owner = $claims.sub\"\n"
         "write_scope = \"owner = $claims.sub\"\n"
         "[collections.m_items.merge.fields]\n"
         "hits = \"counter\"\n"
         "tags = \"set-union\"\n"
         "note = \"reject\"\n";
}

std::string log_value(const std::string& dsn, const std::string& sql) {
  try {
    return query_value(dsn, sql);
  } catch (const std::exception&) {
    return {};
  }
}

void wait_for_log_rows(const std::string& dsn, int rows) {
  wait_until([&] {
    return log_value(dsn, "SELECT count(*) FROM fieldsync.rows WHERE collection = 'm_items' AND NOT deleted") ==
           std::to_string(rows);
  }, std::chrono::seconds(60), "the initial copy in the change log");
}

http_reply push(std::uint16_t port, const std::string& subject, const boost::json::value& batch) {
  return http_call(port, boost::beast::http::verb::post, "/v1/mutations", boost::json::serialize(batch),
                   {{"Authorization", "Bearer " + hs256_token({{"sub", subject}})},
                    {"Content-Type", "application/json"}});
}

void wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for " << what);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

boost::json::value query_json(const std::string& dsn, const std::string& sql) {
  return protocol::parse_json_exact(query_value(dsn, sql), 256).value();
}

}  // namespace fieldsync::test
