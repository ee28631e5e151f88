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

std::optional<lsn> timeline_history_end(std::string_view history) {
  std::optional<lsn> last;
  while (!history.empty()) {
    auto end = history.find('\n');
    auto line = history.substr(0, end);
    history = end == std::string_view::npos ? std::string_view() : history.substr(end + 1);
    auto tab = line.find('\t');
    if (line.empty() || line.front() == '#' || tab == std::string_view::npos) continue;
    auto field = line.substr(tab + 1);
    field = field.substr(0, field.find('\t'));
    if (auto point = lsn::parse(field)) last = point;
  }
  return last;
}

asio::awaitable<pg_outcome<std::optional<lsn>>> async_timeline_start(pg_connection& replication) {
  // Replication commands go by the simple query protocol.
  auto id = co_await replication.async_exec("IDENTIFY_SYSTEM");
  if (!id) co_return id.error();
  if (id->rows() != 1) co_return std::optional<lsn>();
  const std::string timeline(id->value(0, 1));
  if (timeline.empty() || timeline == "1" ||
      timeline.find_first_not_of("0123456789") != std::string::npos) {
    co_return std::optional<lsn>();
  }
  auto history = co_await replication.async_exec("TIMELINE_HISTORY " + timeline);
  if (!history) co_return history.error();
  if (history->rows() != 1) co_return std::optional<lsn>();
  co_return timeline_history_end(history->value(0, 1));
}

}  // namespace fieldsync::storage
