// The [websocket] keys of live subscriptions.

#include "server/app/config_file.hpp"
#include "server/app/dev_command.hpp"

#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;
using fieldsync::test::temp_dir;
using fieldsync::test::write_file;

TEST_CASE("live-sync limits are read from [websocket] and the environment", "[config][sync]") {
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file,
             "[websocket]\n"
             "auth_timeout_ms = 2500\n"
             "max_subscriptions_per_session = 7\n"
             "max_sessions_per_user = 3\n"
             "allowed_origins = [\"https://app.example.com\", \"http://localhost:*\"]\n"
             "snapshot_batch_rows = 50\n"
             "fanout_read_changes = 100\n"
             "[database]\ndsn = \"host=/tmp dbname=x\"\n");
  auto cfg = load_config(file, {{"FIELDSYNC_WEBSOCKET_MAX_SESSIONS_PER_USER", "9"}});
  CHECK(cfg.websocket.auth_timeout == std::chrono::milliseconds(2500));
  CHECK(cfg.websocket.max_subscriptions_per_session == 7);
  CHECK(cfg.websocket.max_sessions_per_user == 9);
  CHECK(cfg.websocket.allowed_origins ==
        std::vector<std::string>{"https://app.example.com", "http://localhost:*"});
  CHECK(cfg.websocket.snapshot_batch_rows == 50);
  CHECK(cfg.websocket.fanout_read_changes == 100);

  auto env = load_config(file, {{"FIELDSYNC_WEBSOCKET_ALLOWED_ORIGINS", "*"}});
  CHECK(env.websocket.allowed_origins == std::vector<std::string>{"*"});
}

TEST_CASE("defaults: same origin only, fieldsync dev allows local development servers",
          "[config][sync]") {
  config c;
  CHECK(c.websocket.allowed_origins.empty());
  CHECK(c.websocket.max_subscriptions_per_session == 100);
  CHECK(c.websocket.max_sessions_per_user == 20);
  CHECK(c.websocket.auth_timeout == std::chrono::milliseconds(10'000));
  auto dev = dev_defaults();
  CHECK(dev.websocket.allowed_origins ==
        std::vector<std::string>{"http://localhost:*", "http://127.0.0.1:*"});
}

TEST_CASE("a malformed origin or an out-of-range limit is a config error", "[config][sync]") {
  temp_dir dir;
  auto file = dir.path() / "c.toml";
  write_file(file,
             "[websocket]\nallowed_origins = [\"app.example.com\"]\n[database]\ndsn = \"x\"\n");
  CHECK_THROWS_WITH(load_config(file, {}), Catch::Contains("websocket.allowed_origins") &&
                                               Catch::Contains("app.example.com"));
  write_file(file, "[websocket]\nfanout_read_changes = 1\n[database]\ndsn = \"x\"\n");
  CHECK_THROWS_WITH(load_config(file, {}),
                    Catch::Contains("websocket.fanout_read_changes must be between 2"));
  write_file(file, "[websocket]\nmax_subscriptions_per_session = 0\n[database]\ndsn = \"x\"\n");
  CHECK_THROWS_WITH(load_config(file, {}), Catch::Contains("max_subscriptions_per_session"));
}
