#include "server/pull/pull_service.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;
using fieldsync::storage::cursor_verdict;
using fieldsync::storage::pg_errc;
using fieldsync::storage::pg_error;

TEST_CASE("pull errors: an unreachable database is 503 with Retry-After", "[pulls]") {
  http_request req{http::verb::get, "/v1/collections/a/changes", 11};
  for (auto code : {pg_errc::connection_failed, pg_errc::connect_timeout, pg_errc::connection_lost,
                    pg_errc::pool_queue_full, pg_errc::pool_timeout, pg_errc::operation_timeout}) {
    auto res = pull_service::database_error(req, pg_error{make_error_code(code), {}, "down"});
    CHECK(res.result() == http::status::service_unavailable);
    CHECK(res[http::field::retry_after] == "5");
    CHECK(res.body().find("database_unavailable") != std::string::npos);
  }
  auto shutdown = pull_service::database_error(
      req, pg_error{make_error_code(pg_errc::query_failed), "57P01", "x"});
  CHECK(shutdown.result() == http::status::service_unavailable);
  auto other = pull_service::database_error(
      req, pg_error{make_error_code(pg_errc::query_failed), "42P01", "x"});
  CHECK(other.result() == http::status::internal_server_error);
}

TEST_CASE("pull errors: a cursor that cannot resume is 409 reset with the reason", "[pulls]") {
  http_request req{http::verb::get, "/v1/collections/a/changes", 11};
  for (auto v :
       {cursor_verdict::other_epoch, cursor_verdict::before_horizon, cursor_verdict::before_load}) {
    auto res = pull_service::reset_response(req, v);
    CHECK(res.result() == http::status::conflict);
    CHECK(res.body().find("\"code\":\"reset\"") != std::string::npos);
    CHECK(res.body().find(std::string(fieldsync::storage::to_string(v))) != std::string::npos);
  }
  auto not_ready = pull_service::reset_response(req, cursor_verdict::no_log);
  CHECK(not_ready.result() == http::status::service_unavailable);
  CHECK(not_ready[http::field::retry_after] == "1");
}

TEST_CASE("pull errors: a cursor ahead of the log is told to retry, not reset", "[pulls]") {
  // The log writes again, with the same positions, a batch a crash of its database took
  // away after a pull read it (docs/protocol.md, "Catching up").
  http_request req{http::verb::get, "/v1/collections/a/changes", 11};
  auto res = pull_service::reset_response(req, cursor_verdict::ahead);
  CHECK(res.result() == http::status::service_unavailable);
  CHECK(res[http::field::retry_after] == "1");
  CHECK(res.body().find("\"code\":\"log_catching_up\"") != std::string::npos);
  CHECK(res.body().find("\"reset\"") == std::string::npos);
}
