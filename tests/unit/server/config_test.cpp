#include "server/app/config_file.hpp"

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

#include <catch2/catch.hpp>

using fieldsync::server::config_error;
using fieldsync::server::environment;
using fieldsync::server::load_config;
using fieldsync::test::temp_dir;
using fieldsync::test::write_file;

namespace {

std::string load_error(const std::string& toml, const environment& env = {}) {
  temp_dir dir;
  auto file = dir.path() / "fieldsync.toml";
  write_file(file, toml);
  try {
    load_config(file, env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the documented example config loads", "[config]") {
  auto cfg = load_config(fieldsync::test::source_dir() / "config" / "fieldsync.toml", {});
  CHECK(cfg.server.listen == "0.0.0.0:8080");
  CHECK(cfg.server.admin_listen == "127.0.0.1:9090");
  CHECK_FALSE(cfg.database.dsn.empty());
}

TEST_CASE("config values are read with their types", "[config]") {
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file,
             "[server]\nlisten = \"127.0.0.1:8181\"\nmax_connections = 7\n"
             "[websocket]\npermessage_deflate = false\n"
             "[database]\ndsn = \"host=/tmp dbname=x\"\n"
             "[dev]\ndemo_scale = 0.5\n");
  auto cfg = load_config(file, {});
  CHECK(cfg.server.listen == "127.0.0.1:8181");
  CHECK(cfg.server.max_connections == 7);
  CHECK_FALSE(cfg.websocket.permessage_deflate);
  CHECK(cfg.dev.demo_scale == 0.5);
  CHECK(cfg.server.admin_listen == "127.0.0.1:9090");  // default kept
}

TEST_CASE("unknown keys and sections are errors naming the file, line and key", "[config]") {
  auto err = load_error("[database]\ndsn = \"x\"\n[server]\nlisten = \"0.0.0.0:1\"\nlistn = 3\n");
  CHECK_THAT(err, Catch::Contains("fieldsync.toml:5") && Catch::Contains("unknown key server.listn"));
  err = load_error("[database]\ndsn = \"x\"\n[servr]\nlisten = 1\n");
  CHECK_THAT(err, Catch::Contains(":3") && Catch::Contains("unknown section [servr]"));
}

TEST_CASE("wrong types and out-of-range values are errors", "[config]") {
  auto err = load_error("[database]\ndsn = \"x\"\n[server]\nmax_connections = \"many\"\n");
  CHECK_THAT(err, Catch::Contains(":4") && Catch::Contains("server.max_connections must be an integer, got a string"));
  err = load_error("[database]\ndsn = \"x\"\npool_size = 0\n");
  CHECK_THAT(err, Catch::Contains("database.pool_size must be between 1 and 1000"));
  err = load_error("[database]\ndsn = \"x\"\n[log]\nformat = \"xml\"\n");
  CHECK_THAT(err, Catch::Contains("log.format must be one of text, json"));
  err = load_error("[database]\ndsn = \"x\"\n[server]\nlisten = \"nowhere\"\n");
  CHECK_THAT(err, Catch::Contains("server.listen") && Catch::Contains("not an address:port"));
}

TEST_CASE("an admin token shorter than 24 characters is refused", "[config]") {
  auto err = load_error("[database]\ndsn = \"x\"\n[server]\nadmin_token = \"secret\"\n");
  CHECK_THAT(err, Catch::Contains("server.admin_token must be at least 24"));
  CHECK(load_error("[database]\ndsn = \"x\"\n[server]\nadmin_token = \"" + std::string(24, 'k') +
                   "\"\n") == "");
  // Empty: the admin API is closed (403), which is allowed.
  CHECK(load_error("[database]\ndsn = \"x\"\n[server]\nadmin_token = \"\"\n") == "");
  // From the environment too.
  CHECK_THAT(load_error("[database]\ndsn = \"x\"\n", {{"FIELDSYNC_SERVER_ADMIN_TOKEN", "short"}}),
             Catch::Contains("server.admin_token must be at least 24"));
}

TEST_CASE("a missing required key is an error", "[config]") {
  CHECK_THAT(load_error("[server]\n"), Catch::Contains("missing required key database.dsn"));
}

TEST_CASE("TOML syntax errors name the line", "[config]") {
  CHECK_THAT(load_error("[database]\ndsn = \"x\"\n[server\n"), Catch::Contains("fieldsync.toml:3"));
}

TEST_CASE("every key can be overridden from the environment", "[config]") {
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file, "[database]\ndsn = \"from-file\"\n[server]\nlisten = \"0.0.0.0:1\"\n");
  auto cfg = load_config(file, {{"FIELDSYNC_SERVER_LISTEN", "127.0.0.1:0"},
                                {"FIELDSYNC_SERVER_ADMIN_LISTEN", "127.0.0.1:1234"},
                                {"FIELDSYNC_DATABASE_DSN", "from-env"},
                                {"FIELDSYNC_WEBSOCKET_PERMESSAGE_DEFLATE", "false"},
                                {"FIELDSYNC_DEV_DEMO_SCALE", "0.01"},
                                {"FIELDSYNC_TEST_PG_STATE", "not a setting, ignored"}});
  CHECK(cfg.server.listen == "127.0.0.1:0");
  CHECK(cfg.server.admin_listen == "127.0.0.1:1234");
  CHECK(cfg.database.dsn == "from-env");
  CHECK_FALSE(cfg.websocket.permessage_deflate);
  CHECK(cfg.dev.demo_scale == 0.01);

  // Without a file, the environment alone is enough.
  auto env_only = load_config(std::nullopt, {{"FIELDSYNC_DATABASE_DSN", "x"}});
  CHECK(env_only.database.dsn == "x");
}

TEST_CASE("bad environment overrides are errors naming the variable", "[config]") {
  CHECK_THAT(load_error("[database]\ndsn = \"x\"\n", {{"FIELDSYNC_SERVER_LISTN", "1"}}),
             Catch::Contains("FIELDSYNC_SERVER_LISTN") && Catch::Contains("unknown key"));
  CHECK_THAT(load_error("[database]\ndsn = \"x\"\n", {{"FIELDSYNC_DATABASE_POOL_SIZE", "8x"}}),
             Catch::Contains("FIELDSYNC_DATABASE_POOL_SIZE") && Catch::Contains("must be an integer"));
}

TEST_CASE("collections and JWT keys are named tables", "[config]") {
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file,
             "[database]\ndsn = \"x\"\n"
             "[auth]\nissuer = \"https://auth.example\"\n"
             "[auth.keys.dev]\nalg = \"HS256\"\nsecret = \"0123456789abcdef0123456789abcdef\"\n"
             "[auth.keys.prod]\nalg = \"RS256\"\npublic_key_file = \"/etc/k.pem\"\n"
             "[collections.accounts]\nprimary_key = [\"id\"]\n"
             "read_scope = \"territory_id = ANY($claims.territories)\"\n"
             "[collections.visit_reports]\ntable = \"sales.visits\"\nprimary_key = [\"id\"]\n"
             "columns = [\"id\", \"notes\"]\npublic = true\n");
  auto cfg = load_config(file, {{"FIELDSYNC_COLLECTIONS_VISIT_REPORTS_PUBLIC", "false"},
                                {"FIELDSYNC_AUTH_KEYS_DEV_SECRET", "abcdefghijklmnopqrstuvwxyz012345"}});
  REQUIRE(cfg.auth.keys.size() == 2);
  CHECK(cfg.auth.keys[0].kid == "dev");
  CHECK(cfg.auth.keys[0].secret == "abcdefghijklmnopqrstuvwxyz012345");
  CHECK(cfg.auth.keys[1].public_key_file == "/etc/k.pem");
  REQUIRE(cfg.collections.size() == 2);
  CHECK(cfg.collections[0].name == "accounts");
  CHECK(cfg.collections[0].table == "accounts");  // defaults to the name
  CHECK(cfg.collections[1].table == "sales.visits");
  CHECK(cfg.collections[1].columns == std::vector<std::string>{"id", "notes"});
  CHECK_FALSE(cfg.collections[1].is_public);
}

TEST_CASE("bad collections and keys are errors naming them", "[config]") {
  const std::string head = "[database]\ndsn = \"x\"\n";
  CHECK_THAT(load_error(head + "[collections.a]\ntable = \"a\"\n"),
             Catch::Contains("missing required key collections.a.primary_key"));
  CHECK_THAT(load_error(head + "[collections.a]\nprimary_key = [\"id\"]\ncolour = 1\n"),
             Catch::Contains(":5") && Catch::Contains("unknown key collections.a.colour"));
  CHECK_THAT(load_error(head + "[collections.a]\nprimary_key = [\"id; drop table x\"]\n"),
             Catch::Contains("is not a column name"));
  CHECK_THAT(load_error(head + "[collections.a]\nprimary_key = [1]\n"),
             Catch::Contains("collections.a.primary_key must be an array of strings"));
  CHECK_THAT(load_error(head + "[collections.a]\ntable = \"x.y.z\"\nprimary_key = [\"id\"]\n"),
             Catch::Contains("not table or schema.table"));
  CHECK_THAT(load_error(head + "[auth.keys.k]\nalg = \"none\"\n"),
             Catch::Contains("auth.keys.k.alg must be one of HS256, RS256, ES256"));
  CHECK_THAT(load_error(head + "[auth.keys.k]\nalg = \"RS256\"\nsecret = \"s\"\n"),
             Catch::Contains("RS256 needs public_key_file"));
  CHECK_THAT(load_error(head + "[collections.a]\nprimary_key = [\"id\"]\n",
                        {{"FIELDSYNC_COLLECTIONS_B_TABLE", "x"}}),
             Catch::Contains("FIELDSYNC_COLLECTIONS_B_TABLE") && Catch::Contains("must exist in the file"));
}

TEST_CASE(
    "database deadlines: defaults, and the idle-in-transaction timeout above the client waits",
    "[config]") {
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file, "[database]\ndsn = \"host=/tmp dbname=x\"\n");
  auto cfg = load_config(file, {});
  CHECK(cfg.database.acquire_timeout == std::chrono::milliseconds(10'000));
  CHECK(cfg.database.query_timeout == std::chrono::milliseconds(60'000));
  CHECK(cfg.database.lock_timeout == std::chrono::milliseconds(10'000));
  CHECK(cfg.database.idle_in_transaction_timeout == std::chrono::milliseconds(120'000));
  CHECK(cfg.database.listen_check_interval == std::chrono::milliseconds(10'000));

  CHECK_THAT(load_error("[database]\ndsn = \"x\"\nidle_in_transaction_timeout_ms = 30000\n"),
             Catch::Contains("database.idle_in_transaction_timeout_ms") &&
                 Catch::Contains("websocket.idle_timeout_ms"));
  CHECK_THAT(load_error("[websocket]\nidle_timeout_ms = 200000\n[database]\ndsn = \"x\"\n"),
             Catch::Contains("database.idle_in_transaction_timeout_ms"));
  CHECK(load_error(
            "[database]\ndsn = \"x\"\nidle_in_transaction_timeout_ms = 0\nquery_timeout_ms = 0\n"
            "lock_timeout_ms = 0\n")
            .empty());
  CHECK_THAT(load_error("[database]\ndsn = \"x\"\nacquire_timeout_ms = 0\n"),
             Catch::Contains("database.acquire_timeout_ms"));
}
