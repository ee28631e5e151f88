#include "storage/replication_slot.hpp"
#include "storage/sqlstate.hpp"

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

asio::awaitable<pg_outcome<std::optional<slot_state>>> async_slot_state(pg_connection& conn,
                                                                        const std::string& slot) {
  auto r = co_await conn.async_query(
      "SELECT coalesce(plugin, ''), coalesce(database, ''), coalesce(wal_status, ''), "
      "coalesce(restart_lsn, '0/0')::text, coalesce(confirmed_flush_lsn, '0/0')::text, "
      "active_pid FROM pg_replication_slots WHERE slot_name = $1",
      pg_params(slot));
  if (!r) co_return r.error();
  if (r->rows() == 0) co_return std::optional<slot_state>();
  slot_state s;
  s.plugin = std::string(r->value(0, 0));
  s.database = std::string(r->value(0, 1));
  s.wal_status = std::string(r->value(0, 2));
  s.lost = s.wal_status == "lost";
  s.restart_lsn = lsn::parse(r->value(0, 3)).value_or(lsn());
  s.confirmed_flush = lsn::parse(r->value(0, 4)).value_or(lsn());
  if (!r->is_null(0, 5)) s.active_pid = std::stoi(std::string(r->value(0, 5)));
  co_return std::optional<slot_state>(std::move(s));
}

asio::awaitable<pg_outcome<lsn>> async_create_slot(pg_connection& conn, const std::string& slot) {
  auto r = co_await conn.async_query(
      "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", pg_params(slot));
  if (!r) co_return r.error();
  auto point = lsn::parse(r->value(0, 0));
  if (!point) {
    co_return pg_error{make_error_code(pg_errc::unexpected_result), {}, "slot creation returned no LSN"};
  }
  co_return *point;
}

asio::awaitable<pg_outcome<void>> async_drop_slot(pg_connection& conn, const std::string& slot) {
  auto r = co_await conn.async_query(
      "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
      "WHERE slot_name = $1 AND active_pid IS NOT NULL",
      pg_params(slot));
  if (!r) co_return r.error();
  // A terminated walsender releases the slot a moment later; retry the drop until then.
  for (int attempt = 0;; ++attempt) {
    auto d = co_await conn.async_query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        "WHERE slot_name = $1",
        pg_params(slot));
    if (d) break;
    if (d.error().sqlstate != sqlstate::object_in_use || attempt >= 50) co_return d.error();
    auto wait = co_await conn.async_query("SELECT pg_sleep(0.1)");
    if (!wait) co_return wait.error();
  }
  co_return pg_outcome<void>{};
}

}  // namespace fieldsync::storage
