#include "storage/pg_connection.hpp"

#include "storage/prepared_statements.hpp"
#include "storage/sqlstate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

namespace fieldsync::storage {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;
using wait_type = asio::posix::descriptor_base::wait_type;

namespace {

// libpq messages end with a newline and may span lines; errors here are one line.
std::string one_line(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (std::size_t pos; (pos = s.find('\n')) != std::string::npos;) s.replace(pos, 1, "; ");
  return s;
}

// Settings every session runs with, whatever the server's defaults: values come back in
// the text forms protocol/value_json.hpp expects (the walsender formats pgoutput values
// with its session's settings too). Appended to the conninfo's own `options`.
std::string session_options(const std::string& conninfo, const pg_session_limits& limits) {
  std::string out;
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err)) {
    for (auto* o = opts; o->keyword; ++o) {
      if (std::string_view(o->keyword) == "options" && o->val) out = std::string(o->val) + " ";
    }
    PQconninfoFree(opts);
  }
  if (err) PQfreemem(err);
  out +=
      "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=iso_8601 "
      "-c extra_float_digits=3 -c bytea_output=hex -c client_encoding=UTF8";
  // The server's safety net: a session that died on our side (or hangs) while it holds row
  // locks ends its transaction by itself, and nobody waits for a lock without limit.
  if (limits.lock_timeout) {
    out += " -c lock_timeout=" + std::to_string(limits.lock_timeout->count());
  }
  if (limits.idle_in_transaction_timeout) {
    out += " -c idle_in_transaction_session_timeout=" +
           std::to_string(limits.idle_in_transaction_timeout->count());
  }
  return out;
}

// Two descriptors name the same socket: compared by identity, since numbers are reused.
bool same_socket(int a, int b) {
  struct stat sa {};
  struct stat sb {};
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

pg_error make_error(pg_errc code, std::string message) {
  return pg_error{make_error_code(code), {}, std::move(message)};
}

pg_error error_from_result(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return pg_error{make_error_code(pg_errc::query_failed), state ? state : "",
                  one_line(primary ? primary : PQresultErrorMessage(r))};
}

}  // namespace

struct pg_connection::impl {
  executor_type ex;
  PGconn* conn = nullptr;
  // The reactor's view of the socket: a duplicate of PQsocket that this connection owns
  // (see the header's invariants). Empty before connecting and once broken.
  std::optional<asio::posix::stream_descriptor> socket;
  bool busy = false;
  bool broken = false;
  std::deque<pg_notification> notifications;
  // The operation deadline: operations are numbered, so that an expiry that was already
  // queued when its operation ended cannot hit the next one.
  std::chrono::milliseconds operation_timeout{0};
  asio::steady_timer deadline;
  std::uint64_t operation = 0;
  bool timed_out = false;
  // The server said FATAL outside an operation (shutting down, idle_in_transaction
  // timeout): the socket closes next.
  bool goodbye = false;
  // What async_pipeline prepared on this session.
  prepared_statements prepared;

  explicit impl(executor_type e) : ex(e), deadline(e) {}

  ~impl() {
    // The duplicate goes first, while libpq's socket still holds the connection open: no
    // descriptor number we registered can have been reused yet.
    detach_socket();
    if (conn) PQfinish(conn);
  }

  // Notices (NOTICE, WARNING, ...) go to the log instead of libpq's default receiver,
  // which prints them raw on stderr between the server's log lines: debug for what a
  // statement reports in passing ("schema ... already exists, skipping"), warn for
  // WARNING and worse. Errors that arrive while no operation runs are delivered as notices
  // too: the reason a server gives before it closes an idle session among them.
  static void on_notice(void* arg, const PGresult* r) {
    auto* d = static_cast<impl*>(arg);
    const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const std::string_view level = severity ? severity : "NOTICE";
    if (level == "FATAL" || level == "PANIC") d->goodbye = true;
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const std::string text = one_line(primary ? primary : PQresultErrorMessage(r));
    if (level == "NOTICE" || level == "INFO" || level == "LOG" || level.starts_with("DEBUG")) {
      spdlog::debug("postgresql {}: {}", level, text);
    } else {
      spdlog::warn("postgresql {}: {}", level, text);
    }
  }

  // Removes the reactor's registration and closes our duplicate. Waits still pending on
  // it complete with operation_aborted.
  void detach_socket() noexcept {
    if (!socket) return;
    boost::system::error_code ignored;
    socket->close(ignored);
    socket.reset();
  }

  // Makes the reactor watch libpq's current socket, through a duplicate of our own. During
  // connect libpq may close its socket and open another one (the next address, a retry
  // without SSL), possibly under the same number: identity decides, not the number.
  bool attach_socket() {
    int fd = PQsocket(conn);
    if (fd < 0) {
      detach_socket();
      return false;
    }
    if (socket && same_socket(fd, socket->native_handle())) return true;
    detach_socket();
    int mine = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (mine < 0) return false;
    socket.emplace(ex);
    boost::system::error_code ec;
    socket->assign(mine, ec);
    if (ec) {
      socket.reset();
      ::close(mine);
      return false;
    }
    return true;
  }

  // Starts operation number `operation`: its deadline, when the connection has one.
  void arm_deadline(const std::shared_ptr<impl>& self) {
    ++operation;
    timed_out = false;
    if (operation_timeout.count() <= 0) return;
    deadline.expires_after(operation_timeout);
    deadline.async_wait(
        [weak = std::weak_ptr<impl>(self), n = operation](boost::system::error_code ec) {
          auto d = weak.lock();
          if (ec || !d || d->operation != n || !d->busy) return;
          d->timed_out = true;
          // The operation's wait ends with operation_aborted; aborted() turns it into the timeout.
          if (d->socket) {
            boost::system::error_code ignored;
            d->socket->cancel(ignored);
          }
        });
  }

  void disarm_deadline() noexcept {
    if (operation_timeout.count() > 0) deadline.cancel();
  }

  // Marks the connection busy for one operation and holds its deadline (idle waits, which
  // have deadlines of their own, pass timed = false).
  class operation_guard {
   public:
    operation_guard(const std::shared_ptr<impl>& d, bool timed = true)
        : d_(*d), acquired_(!d->busy), timed_(timed) {
      if (!acquired_) return;
      d_.busy = true;
      if (timed_ && !d_.broken) d_.arm_deadline(d);
    }
    ~operation_guard() {
      if (!acquired_) return;
      d_.busy = false;
      if (timed_) d_.disarm_deadline();
    }
    bool acquired() const noexcept { return acquired_; }

   private:
    impl& d_;
    bool acquired_;
    bool timed_;
  };

  // libpq found the connection broken, and has closed its socket already or will: ours
  // goes now, before anything else can open a socket.
  pg_error lost(const char* what) {
    broken = true;
    detach_socket();
    std::string msg = one_line(PQerrorMessage(conn));
    return make_error(pg_errc::connection_lost, msg.empty() ? what : msg);
  }

  void drain_notifications() {
    while (PGnotify* n = PQnotifies(conn)) {
      notifications.push_back({n->relname, n->extra ? n->extra : "", n->be_pid});
      PQfreemem(n);
    }
  }

  // A deadline that expired while the operation was not waiting (its completion already
  // queued) must still end the operation's next wait.
  asio::awaitable<boost::system::error_code> wait(wait_type w) {
    if (timed_out) co_return asio::error::operation_aborted;
    if (!socket) co_return asio::error::bad_descriptor;
    auto [ec] = co_await socket->async_wait(w, as_tuple(use_awaitable));
    co_return ec;
  }

  // Whichever of readable/writable comes first (the flush rule of the libpq manual).
  asio::awaitable<std::pair<boost::system::error_code, bool /*readable*/>> wait_read_or_write() {
    if (timed_out) {
      co_return std::pair{boost::system::error_code(asio::error::operation_aborted), true};
    }
    if (!socket) co_return std::pair{boost::system::error_code(asio::error::bad_descriptor), true};
    auto r = co_await (socket->async_wait(wait_type::wait_read, as_tuple(use_awaitable)) ||
                       socket->async_wait(wait_type::wait_write, as_tuple(use_awaitable)));
    if (r.index() == 0) co_return std::pair{std::get<0>(std::get<0>(r)), true};
    co_return std::pair{std::get<0>(std::get<1>(r)), false};
  }

  // Sends what libpq has buffered: PQflush until 0, waiting for read or write readiness
  // in between and consuming input when readable, so the server can never deadlock us by
  // waiting for us to read while we wait for it to read.
  asio::awaitable<std::optional<pg_error>> flush() {
    for (;;) {
      int rc = PQflush(conn);
      if (rc == 0) co_return std::nullopt;
      if (rc < 0) co_return lost("flush failed");
      auto [ec, readable] = co_await wait_read_or_write();
      if (ec) co_return aborted(ec);
      if (readable) {
        if (!PQconsumeInput(conn)) co_return lost("connection lost");
        drain_notifications();
      }
    }
  }

  pg_error aborted(const boost::system::error_code& ec) {
    // An operation interrupted mid-protocol leaves the connection in an unknown state.
    broken = true;
    detach_socket();
    if (timed_out) {
      return make_error(pg_errc::operation_timeout,
                        "no answer within " + std::to_string(operation_timeout.count()) + " ms");
    }
    return pg_error{ec, {}, "operation interrupted: " + ec.message()};
  }

  // Collects results until libpq has none left (or a COPY starts). The first error wins;
  // every result is still consumed so the connection stays in step with the server.
  asio::awaitable<pg_outcome<pg_result>> read_results() {
    std::optional<pg_error> error;
    pg_result last;
    for (;;) {
      while (PQisBusy(conn)) {
        auto ec = co_await wait(wait_type::wait_read);
        if (ec) co_return aborted(ec);
        if (!PQconsumeInput(conn)) co_return lost("connection lost");
        drain_notifications();
      }
      PGresult* r = PQgetResult(conn);
      if (!r) break;
      auto status = PQresultStatus(r);
      if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        // The caller continues the COPY; libpq returns no further result until it ends.
        co_return pg_result(r);
      }
      if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && !error) {
        error = error_from_result(r);
      }
      last = pg_result(r);
    }
    drain_notifications();
    if (PQstatus(conn) == CONNECTION_BAD) co_return lost("connection lost");
    if (error) co_return *error;
    co_return last;
  }
};

pg_connection::pg_connection(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

pg_connection::~pg_connection() { cancel(); }

asio::awaitable<pg_outcome<std::unique_ptr<pg_connection>>> pg_connection::async_connect(
    executor_type ex, std::string conninfo, std::chrono::milliseconds timeout,
    std::vector<std::pair<std::string, std::string>> extra, pg_session_limits limits) {
  auto d = std::make_shared<impl>(ex);
  d->operation_timeout = limits.operation_timeout;
  // dbname carries the whole conninfo (expand_dbname); keywords after it override it.
  std::vector<const char*> keys{"dbname"};
  std::vector<const char*> values{conninfo.c_str()};
  std::string options = session_options(conninfo, limits);
  keys.push_back("options");
  values.push_back(options.c_str());
  // Operators find fieldsync's sessions in pg_stat_activity by it; a conninfo's own
  // application_name wins.
  keys.push_back("fallback_application_name");
  values.push_back("fieldsync");
  for (const auto& [k, v] : extra) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  d->conn = PQconnectStartParams(keys.data(), values.data(), 1);
  if (!d->conn) co_return make_error(pg_errc::connection_failed, "out of memory");
  if (PQstatus(d->conn) == CONNECTION_BAD) {
    co_return make_error(pg_errc::connection_failed, one_line(PQerrorMessage(d->conn)));
  }
  PQsetNoticeReceiver(d->conn, &impl::on_notice, d.get());

  auto* raw = d.get();
  auto poll_loop = [raw]() -> asio::awaitable<std::optional<pg_error>> {
    // The manual: behave as if PQconnectPoll had returned PGRES_POLLING_WRITING at first.
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    for (;;) {
      if (status == PGRES_POLLING_OK) co_return std::nullopt;
      if (status == PGRES_POLLING_FAILED) {
        co_return make_error(pg_errc::connection_failed, one_line(PQerrorMessage(raw->conn)));
      }
      if (!raw->attach_socket()) {
        co_return make_error(pg_errc::connection_failed, one_line(PQerrorMessage(raw->conn)));
      }
      auto ec = co_await raw->wait(status == PGRES_POLLING_READING ? wait_type::wait_read
                                                                   : wait_type::wait_write);
      if (ec) co_return pg_error{ec, {}, "connect interrupted"};
      status = PQconnectPoll(raw->conn);
    }
  };

  asio::steady_timer timer(ex, timeout);
  auto outcome = co_await (poll_loop() || timer.async_wait(as_tuple(use_awaitable)));
  if (outcome.index() == 1) {
    co_return make_error(pg_errc::connect_timeout,
                         "no connection within " + std::to_string(timeout.count()) + " ms");
  }
  if (auto err = std::get<0>(outcome)) co_return *err;

  if (PQsetnonblocking(d->conn, 1) != 0 || !d->attach_socket()) {
    co_return make_error(pg_errc::connection_failed, one_line(PQerrorMessage(d->conn)));
  }
  co_return std::unique_ptr<pg_connection>(new pg_connection(std::move(d)));
}

asio::awaitable<pg_outcome<pg_result>> pg_connection::async_query(std::string_view sql,
                                                                  const pg_params& params) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");

  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  std::string text(sql);
  if (!PQsendQueryParams(d->conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    co_return d->lost("cannot send query");
  }
  if (auto err = co_await d->flush()) co_return *err;
  auto r = co_await d->read_results();
  if (r && PQresultStatus(r->native()) == PGRES_COPY_IN) {
    co_return make_error(pg_errc::unexpected_result, "use async_copy_in for COPY FROM STDIN");
  }
  co_return r;
}

asio::awaitable<boost::system::result<std::vector<pg_result>, pg_pipeline_error>>
pg_connection::async_pipeline(const std::vector<pg_statement>& statements) {
  auto d = impl_;  // keeps the state alive across suspensions
  const std::size_t n = statements.size();
  auto failed = [n](pg_error e) { return pg_pipeline_error{n, std::move(e)}; };
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return failed(make_error(pg_errc::busy, "another operation is in flight"));
  if (d->broken) co_return failed(make_error(pg_errc::connection_lost, "connection is broken"));
  if (PQenterPipelineMode(d->conn) != 1) co_return failed(d->lost("cannot enter pipeline mode"));

  // What the server answers, in order: one result sequence per Prepare and per statement.
  struct step {
    std::size_t statement;
    bool prepare;  // the Prepare of the statement's text, sent before it
    bool named;    // the statement executes a prepared one
  };
  std::vector<step> steps;
  steps.reserve(n);
  std::vector<const char*> values;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& st = statements[i];
    values.clear();
    for (const auto& v : st.params.values()) values.push_back(v ? v->c_str() : nullptr);
    const int count = static_cast<int>(values.size());
    const auto use = st.preparable ? d->prepared.use_of(st.sql) : std::nullopt;
    if (use && use->prepare) {
      if (!PQsendPrepare(d->conn, use->name.c_str(), st.sql.c_str(), count, nullptr)) {
        d->prepared.forget(st.sql);
        co_return failed(d->lost("cannot send prepare"));
      }
      steps.push_back({i, true, false});
    }
    const int sent = use ? PQsendQueryPrepared(d->conn, use->name.c_str(), count, values.data(),
                                               nullptr, nullptr, 0)
                         : PQsendQueryParams(d->conn, st.sql.c_str(), count, nullptr, values.data(),
                                             nullptr, nullptr, 0);
    if (!sent) co_return failed(d->lost("cannot send query"));
    steps.push_back({i, false, use.has_value()});
  }
  if (!PQpipelineSync(d->conn)) co_return failed(d->lost("cannot send pipeline sync"));
  if (auto err = co_await d->flush()) co_return failed(*err);

  // In pipeline mode each statement's results end with a null result; the Sync gives a
  // PGRES_PIPELINE_SYNC result of its own, not followed by a null one.
  auto next = [d]() -> asio::awaitable<pg_outcome<PGresult*>> {
    while (PQisBusy(d->conn)) {
      auto ec = co_await d->wait(wait_type::wait_read);
      if (ec) co_return d->aborted(ec);
      if (!PQconsumeInput(d->conn)) co_return d->lost("connection lost");
      d->drain_notifications();
    }
    co_return PQgetResult(d->conn);
  };
  std::vector<pg_result> results;
  results.reserve(n);
  std::optional<pg_pipeline_error> error;
  for (const auto& s : steps) {
    pg_result kept;
    for (;;) {
      auto r = co_await next();
      if (!r) co_return failed(r.error());
      if (!*r) break;
      kept = pg_result(*r);
    }
    const auto status = PQresultStatus(kept.native());
    const bool refused =
        kept.native() && (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE);
    const auto& sql = statements[s.statement].sql;
    if (s.prepare) {
      // A Prepare that failed, or that the server skipped after an earlier failure, left
      // nothing on the session.
      if (status != PGRES_COMMAND_OK) d->prepared.forget(sql);
      if (refused && !error)
        error = pg_pipeline_error{s.statement, error_from_result(kept.native())};
      continue;
    }
    if (refused && !error) {
      error = pg_pipeline_error{s.statement, error_from_result(kept.native())};
      if (s.named && error->error.sqlstate == sqlstate::invalid_sql_statement_name) {
        d->prepared.forget_all();
        error->stale_prepared = true;
      } else if (s.named && error->error.sqlstate == sqlstate::feature_not_supported) {
        d->prepared.forget(sql);
        error->stale_prepared = true;
      }
    }
    results.push_back(std::move(kept));
  }
  for (;;) {
    auto r = co_await next();
    if (!r) co_return failed(r.error());
    if (!*r) continue;
    pg_result sync(*r);
    if (PQresultStatus(sync.native()) == PGRES_PIPELINE_SYNC) break;
  }
  if (PQexitPipelineMode(d->conn) != 1) co_return failed(d->lost("cannot leave pipeline mode"));
  if (error) co_return *error;
  co_return results;
}

asio::awaitable<pg_outcome<pg_result>> pg_connection::async_exec(std::string_view sql) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  std::string text(sql);
  if (!PQsendQuery(d->conn, text.c_str())) co_return d->lost("cannot send query");
  if (auto err = co_await d->flush()) co_return *err;
  co_return co_await d->read_results();
}

asio::awaitable<pg_outcome<long>> pg_connection::async_copy_in(std::string_view copy_sql,
                                                               copy_source next_chunk) {
  co_return co_await copy_in(copy_sql,
                             [&next_chunk](std::string_view& piece, std::string& scratch) {
                               scratch.clear();
                               bool more = next_chunk(scratch);
                               piece = scratch;
                               return more;
                             });
}

asio::awaitable<pg_outcome<long>> pg_connection::async_copy_in(std::string_view copy_sql,
                                                               std::string_view data) {
  co_return co_await copy_in(copy_sql, [data](std::string_view& piece, std::string&) {
    piece = data;
    return false;
  });
}

asio::awaitable<pg_outcome<long>> pg_connection::copy_in(std::string_view copy_sql,
                                                         copy_views next_chunk) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  auto* conn = d->conn;
  std::string text(copy_sql);
  if (!PQsendQuery(conn, text.c_str())) co_return d->lost("cannot send COPY");
  if (auto err = co_await d->flush()) co_return *err;
  auto start = co_await d->read_results();
  if (!start) co_return start.error();
  if (PQresultStatus(start->native()) != PGRES_COPY_IN) {
    co_return make_error(pg_errc::unexpected_result, "statement did not start COPY FROM STDIN");
  }

  // Sends one piece: PQputCopyData returns 0 while libpq's buffer is full.
  auto put = [d, conn](const char* data, int len) -> asio::awaitable<std::optional<pg_error>> {
    for (;;) {
      int rc = PQputCopyData(conn, data, len);
      if (rc == 1) co_return std::nullopt;
      if (rc < 0) co_return d->lost("COPY data could not be sent");
      auto ec = co_await d->wait(wait_type::wait_write);
      if (ec) co_return d->aborted(ec);
      if (PQflush(conn) < 0) co_return d->lost("COPY data could not be sent");
    }
  };

  std::string scratch;
  std::string failure;
  for (;;) {
    std::string_view piece;
    bool more = false;
    try {
      more = next_chunk(piece, scratch);
    } catch (const std::exception& e) {
      failure = e.what();
      break;
    }
    // PQputCopyData takes an int length: big pieces go in parts.
    constexpr std::size_t max_put = 1 << 20;
    while (!piece.empty()) {
      auto part = piece.substr(0, max_put);
      if (auto err = co_await put(part.data(), static_cast<int>(part.size()))) co_return *err;
      piece.remove_prefix(part.size());
    }
    if (!more) break;
  }
  // PQputCopyEnd with an error message makes the server abort the COPY.
  for (;;) {
    int rc = PQputCopyEnd(conn, failure.empty() ? nullptr : failure.c_str());
    if (rc == 1) break;
    if (rc < 0) co_return d->lost("COPY could not be ended");
    auto ec = co_await d->wait(wait_type::wait_write);
    if (ec) co_return d->aborted(ec);
  }
  if (auto err = co_await d->flush()) co_return *err;
  auto done = co_await d->read_results();
  if (!failure.empty()) co_return make_error(pg_errc::copy_failed, "COPY source failed: " + failure);
  if (!done) {
    auto e = done.error();
    if (e.code == make_error_code(pg_errc::query_failed)) e.code = make_error_code(pg_errc::copy_failed);
    co_return e;
  }
  co_return done->affected_rows();
}

asio::awaitable<pg_outcome<void>> pg_connection::async_start_copy_both(std::string_view sql) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  std::string text(sql);
  if (!PQsendQuery(d->conn, text.c_str())) co_return d->lost("cannot send query");
  if (auto err = co_await d->flush()) co_return *err;
  auto r = co_await d->read_results();
  if (!r) co_return r.error();
  if (PQresultStatus(r->native()) != PGRES_COPY_BOTH) {
    co_return make_error(pg_errc::unexpected_result, "statement did not start COPY BOTH");
  }
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<std::optional<std::string>>> pg_connection::async_read_copy_data(
    std::chrono::steady_clock::time_point deadline) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d, false);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  asio::steady_timer timer(d->ex, deadline);
  bool polled = false;
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(d->conn, &buffer, 1);
    if (n > 0) {
      std::string out(buffer, static_cast<std::size_t>(n));
      PQfreemem(buffer);
      co_return std::optional<std::string>(std::move(out));
    }
    if (n == -1) {
      // The server ended the stream: collect its final result (an error, usually).
      auto r = co_await d->read_results();
      if (!r) co_return pg_error{make_error_code(pg_errc::copy_ended), r.error().sqlstate, r.error().message};
      co_return make_error(pg_errc::copy_ended, "the server ended the COPY stream");
    }
    if (n < 0) co_return d->lost("COPY stream broke");
    // n == 0: no complete message yet. A deadline already passed is a poll: take in what
    // the socket holds once, then give up without waiting.
    if (std::chrono::steady_clock::now() >= deadline) {
      if (polled) co_return std::optional<std::string>();
      polled = true;
      if (!PQconsumeInput(d->conn)) co_return d->lost("connection lost");
      d->drain_notifications();
      continue;
    }
    if (!d->socket) co_return d->lost("connection lost");
    auto outcome = co_await (d->socket->async_wait(wait_type::wait_read, as_tuple(use_awaitable)) ||
                             timer.async_wait(as_tuple(use_awaitable)));
    if (outcome.index() == 1) {
      if (std::get<0>(std::get<1>(outcome))) co_return d->aborted(std::get<0>(std::get<1>(outcome)));
      co_return std::optional<std::string>();  // deadline: nothing arrived
    }
    if (auto ec = std::get<0>(std::get<0>(outcome))) co_return d->aborted(ec);
    if (!PQconsumeInput(d->conn)) co_return d->lost("connection lost");
    d->drain_notifications();
  }
}

asio::awaitable<pg_outcome<void>> pg_connection::async_write_copy_data(std::string_view data) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  for (;;) {
    int rc = PQputCopyData(d->conn, data.data(), static_cast<int>(data.size()));
    if (rc == 1) break;
    if (rc < 0) co_return d->lost("COPY data could not be sent");
    auto ec = co_await d->wait(wait_type::wait_write);
    if (ec) co_return d->aborted(ec);
    if (PQflush(d->conn) < 0) co_return d->lost("COPY data could not be sent");
  }
  if (auto err = co_await d->flush()) co_return *err;
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<void>> pg_connection::async_end_copy() {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  for (;;) {
    int rc = PQputCopyEnd(d->conn, nullptr);
    if (rc == 1) break;
    if (rc < 0) co_return d->lost("CopyDone could not be sent");
    auto ec = co_await d->wait(wait_type::wait_write);
    if (ec) co_return d->aborted(ec);
  }
  if (auto err = co_await d->flush()) co_return *err;
  // The server may still send CopyData before its own CopyDone; drop it.
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(d->conn, &buffer, 1);
    if (n > 0) {
      PQfreemem(buffer);
      continue;
    }
    if (n == -1) break;
    if (n < -1) co_return d->lost("COPY stream broke");
    auto ec = co_await d->wait(wait_type::wait_read);
    if (ec) co_return d->aborted(ec);
    if (!PQconsumeInput(d->conn)) co_return d->lost("connection lost");
  }
  auto r = co_await d->read_results();
  if (!r) co_return r.error();
  co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<std::deque<pg_notification>>> pg_connection::async_wait_notifications(
    std::chrono::steady_clock::time_point deadline) {
  auto d = impl_;  // keeps the state alive across suspensions
  impl::operation_guard guard(d, false);
  if (!guard.acquired()) co_return make_error(pg_errc::busy, "another operation is in flight");
  if (d->broken) co_return make_error(pg_errc::connection_lost, "connection is broken");
  asio::steady_timer timer(d->ex, deadline);
  while (d->notifications.empty()) {
    if (!d->socket) co_return d->lost("connection lost");
    auto outcome = co_await (d->socket->async_wait(wait_type::wait_read, as_tuple(use_awaitable)) ||
                             timer.async_wait(as_tuple(use_awaitable)));
    if (outcome.index() == 1) {
      auto ec = std::get<0>(std::get<1>(outcome));
      if (ec) co_return pg_error{ec, {}, "wait interrupted"};  // idle: the connection stays usable
      co_return std::deque<pg_notification>();                 // the deadline: none came
    }
    auto ec = std::get<0>(std::get<0>(outcome));
    if (ec) co_return pg_error{ec, {}, "wait interrupted"};  // idle: the connection stays usable
    if (!PQconsumeInput(d->conn)) co_return d->lost("connection lost");
    d->drain_notifications();
  }
  std::deque<pg_notification> out;
  out.swap(d->notifications);
  co_return out;
}

bool pg_connection::is_ok() const noexcept {
  return !impl_->broken && !impl_->goodbye && PQstatus(impl_->conn) == CONNECTION_OK;
}

bool pg_connection::check_idle() {
  auto& d = *impl_;
  if (d.busy || d.broken || PQstatus(d.conn) != CONNECTION_OK) return is_ok();
  // What an idle connection can have been sent: notifications, or the server's goodbye (a
  // FATAL, then the end of the stream, which may take a second read to see).
  for (int i = 0; i < 4; ++i) {
    pollfd p{PQsocket(d.conn), POLLIN, 0};
    if (p.fd < 0 || ::poll(&p, 1, 0) <= 0) break;
    if (!PQconsumeInput(d.conn)) {
      (void)d.lost("connection lost");
      return false;
    }
    (void)PQisBusy(d.conn);  // parses it: an error while idle reaches on_notice
    d.drain_notifications();
  }
  if (d.goodbye) {
    (void)d.lost("the server ended the session");
    return false;
  }
  return is_ok();
}

void pg_connection::set_operation_timeout(std::chrono::milliseconds timeout) noexcept {
  impl_->operation_timeout = timeout;
}

std::chrono::milliseconds pg_connection::operation_timeout() const noexcept {
  return impl_->operation_timeout;
}

int pg_connection::reactor_descriptor() const noexcept {
  return impl_->socket ? impl_->socket->native_handle() : -1;
}

std::size_t pg_connection::prepared_count() const noexcept { return impl_->prepared.size(); }

int pg_connection::backend_pid() const noexcept { return PQbackendPID(impl_->conn); }
const pg_connection::executor_type& pg_connection::get_executor() const noexcept { return impl_->ex; }
PGconn* pg_connection::native() const noexcept { return impl_->conn; }

void pg_connection::cancel() {
  if (impl_->socket) {
    boost::system::error_code ignored;
    impl_->socket->cancel(ignored);
  }
}

}  // namespace fieldsync::storage
