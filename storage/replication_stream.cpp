#include "storage/replication_stream.hpp"

#include "protocol/walsender_message.hpp"
#include "storage/sql_quote.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <variant>

namespace fieldsync::storage {

namespace asio = boost::asio;
using protocol::lsn;

namespace {

// '"name"' inside a single-quoted option value: double the quotes of each kind.
std::string quote_publications(const std::vector<std::string>& names) {
  std::string out = "'";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : names[i]) {
      if (c == '"') out += "\"\"";
      else if (c == '\'') out += "''";
      else out += c;
    }
    out += '"';
  }
  return out + "'";
}

pg_error protocol_error(const boost::system::error_code& ec) {
  return pg_error{ec, {}, "bad message from the walsender: " + ec.message()};
}

}  // namespace

std::string replication_stream::start_sql(const replication_options& opts, lsn start) {
  return "START_REPLICATION SLOT " + quote_identifier(opts.slot) + " LOGICAL " +
         start.to_string() + " (proto_version '1', publication_names " +
         quote_publications(opts.publications) + ", messages 'true')";
}

replication_stream::replication_stream(std::unique_ptr<pg_connection> conn,
                                       replication_options opts)
    : conn_(std::move(conn)),
      opts_(std::move(opts)),
      next_status_(std::chrono::steady_clock::now() + opts_.status_interval) {}

asio::awaitable<pg_outcome<std::unique_ptr<replication_stream>>> replication_stream::async_start(
    asio::any_io_executor ex, replication_options opts, lsn start) {
  // Built outside the co_await: GCC 12 miscompiles braced initialisers in coroutine frames.
  std::vector<std::pair<std::string, std::string>> extra{{"replication", "database"}};
  auto conn = co_await pg_connection::async_connect(ex, opts.conninfo, opts.connect_timeout,
                                                    std::move(extra), opts.session);
  if (!conn) co_return conn.error();
  auto started = co_await (*conn)->async_start_copy_both(start_sql(opts, start));
  if (!started) co_return started.error();
  std::unique_ptr<replication_stream> stream(new replication_stream(std::move(*conn), std::move(opts)));
  stream->received_ = start;
  stream->confirmed_ = start;
  co_return stream;
}

void replication_stream::confirm(lsn flushed) noexcept {
  if (flushed > confirmed_) confirmed_ = flushed;
}

asio::awaitable<pg_outcome<void>> replication_stream::async_send_status(bool reply_requested) {
  // written = what we received; flushed = applied = what the owner stored durably.
  auto written = std::max(received_, confirmed_);
  auto msg = protocol::encode_standby_status_update(
      written, confirmed_, confirmed_, protocol::to_pg_timestamp(std::chrono::system_clock::now()),
      reply_requested);
  next_status_ = std::chrono::steady_clock::now() + opts_.status_interval;
  co_return co_await conn_->async_write_copy_data(msg);
}

asio::awaitable<pg_outcome<std::optional<wal_message>>> replication_stream::async_next(
    std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_status_) {
      auto sent = co_await async_send_status();
      if (!sent) co_return sent.error();
    }
    auto wait_until = std::min(deadline, next_status_);
    auto data = co_await conn_->async_read_copy_data(wait_until);
    if (!data) co_return data.error();
    if (!*data) {
      if (std::chrono::steady_clock::now() >= deadline) co_return std::optional<wal_message>();
      continue;  // the status interval passed: the loop sends one
    }
    const auto& bytes = **data;
    auto decoded = protocol::decode_walsender_message(
        {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    if (!decoded) co_return protocol_error(decoded.error());
    if (auto* k = std::get_if<protocol::primary_keepalive>(&*decoded)) {
      if (k->wal_end > server_wal_end_) server_wal_end_ = k->wal_end;
      if (k->reply_requested) {
        auto sent = co_await async_send_status();
        if (!sent) co_return sent.error();
      }
      continue;
    }
    auto& x = std::get<protocol::xlog_data>(*decoded);
    if (x.wal_end > server_wal_end_) server_wal_end_ = x.wal_end;
    if (x.wal_start > received_) received_ = x.wal_start;
    // The payload is the message's tail: cut the header off in place instead of copying.
    auto header =
        static_cast<std::size_t>(reinterpret_cast<const char*>(x.payload.data()) - bytes.data());
    wal_message out{x.wal_start, x.wal_end, std::move(**data)};
    out.payload.erase(0, header);
    co_return std::optional<wal_message>(std::move(out));
  }
}

asio::awaitable<pg_outcome<void>> replication_stream::async_stop() {
  auto sent = co_await async_send_status();
  if (!sent) co_return sent.error();
  co_return co_await conn_->async_end_copy();
}

}  // namespace fieldsync::storage
