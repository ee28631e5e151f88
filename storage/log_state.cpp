#include "storage/log_state.hpp"

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

asio::awaitable<pg_outcome<std::optional<log_state>>> async_read_log_state(pg_connection& storage) {
  auto r = co_await storage.async_query(
      "SELECT epoch, slot_name, resume_lsn::text, high_lsn::text, horizon_lsn::text "
      "FROM fieldsync.state");
  if (!r) co_return r.error();
  if (r->rows() == 0) co_return std::optional<log_state>();
  log_state s;
  s.epoch = std::stoll(std::string(r->value(0, 0)));
  s.slot = std::string(r->value(0, 1));
  s.resume = lsn::parse(r->value(0, 2)).value_or(lsn());
  s.high = lsn::parse(r->value(0, 3)).value_or(lsn());
  s.horizon = lsn::parse(r->value(0, 4)).value_or(lsn());
  co_return std::optional<log_state>(std::move(s));
}

asio::awaitable<pg_outcome<log_state>> async_start_epoch(pg_connection& storage,
                                                        const std::string& slot,
                                                        lsn consistent_point) {
  const std::string point = consistent_point.to_string();
  auto r = co_await storage.async_exec(
      "BEGIN;"
      "LOCK TABLE fieldsync.state IN EXCLUSIVE MODE;"
      "TRUNCATE fieldsync.changes, fieldsync.rows, fieldsync.collections;"
      "DELETE FROM fieldsync.state;");
  if (r) {
    r = co_await storage.async_query(
        "INSERT INTO fieldsync.state (epoch, slot_name, resume_lsn, high_lsn, horizon_lsn) "
        "VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, $1, $2::pg_lsn, "
        "$2::pg_lsn, $2::pg_lsn)",
        pg_params(slot, point));
  }
  if (r) r = co_await storage.async_exec("COMMIT");
  if (!r) {
    (void)co_await storage.async_exec("ROLLBACK");
    co_return r.error();
  }
  auto state = co_await async_read_log_state(storage);
  if (!state) co_return state.error();
  co_return **state;
}

}  // namespace fieldsync::storage
