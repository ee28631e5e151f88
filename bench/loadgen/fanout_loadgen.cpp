// Load generator of the fan-out benchmark (bench/scenarios/fanout).
//
// Opens N fieldsync.v1 WebSocket clients (one io_context thread), each subscribed to the
// `items` collection with a token for one territory, measures the server's RSS per idle
// connection, then runs a writer at a steady rate (UPDATE of a random row, stamping `ts`
// with the database's clock_timestamp() in microseconds) and measures, for every change a
// client receives, receive time - ts: commit -> client receive on one machine, one clock.
// Its physical floor is measured alongside: the change log's own latency, from the same
// stamp to the fieldsync_log notification that announces the change in the log.
//
// Prints JSON result lines (bench/README.md's contract) on stdout, progress on stderr.

#include <libpq-fe.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string tokens_file;
  std::string dsn;
  int clients = 1000;
  int rate = 1000;    // changes per second
  int rows = 10'000;  // ids 1..rows
  int warmup_s = 5;
  int duration_s = 30;
  int connect_parallel = 200;
  int server_pid = 0;
  int territories = 100;
  bool deflate = false;  // offer permessage-deflate, as browsers do
};

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// utime + stime of a process, in clock ticks.
std::int64_t cpu_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  std::int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

struct shared_state {
  std::atomic<int> ready{0};
  std::atomic<int> failed{0};
  std::atomic<bool> measuring{false};
  std::atomic<std::uint64_t> received{0};   // change messages during the measurement
  std::vector<std::uint32_t> latencies_us;  // io thread only
  std::string first_error;
};

// The "ts" of the row in a change message (microseconds since 1970), or -1.
std::int64_t stamp_of(std::string_view text) {
  auto at = text.find("\"ts\":");
  if (at == std::string_view::npos) return -1;
  std::int64_t v = -1;
  const char* begin = text.data() + at + 5;
  std::from_chars(begin, text.data() + text.size(), v);
  return v;
}

asio::awaitable<void> run_client(const options& o, shared_state& st, std::string token, int index,
                                 std::shared_ptr<std::atomic<int>> slots) {
  auto ex = co_await asio::this_coro::executor;
  websocket::stream<beast::tcp_stream> ws(ex);
  bool counted_ready = false;
  try {
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(o.host, o.port, asio::use_awaitable);
    co_await beast::get_lowest_layer(ws).async_connect(endpoints, asio::use_awaitable);
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, "fieldsync.v1");
    }));
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    if (o.deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      ws.set_option(pmd);
    }
    co_await ws.async_handshake(o.host + ":" + o.port, "/v1/ws", asio::use_awaitable);
    ws.text(true);
    std::string hello = R"({"type":"hello","protocol":1,"client_id":"bench-)" +
                        std::to_string(index) + R"(","token":")" + token + "\"}";
    co_await ws.async_write(asio::buffer(hello), asio::use_awaitable);
    std::string subscribe = R"({"type":"subscribe","id":"s","collection":"items"})";
    co_await ws.async_write(asio::buffer(subscribe), asio::use_awaitable);
    beast::flat_buffer buffer;
    for (;;) {
      co_await ws.async_read(buffer, asio::use_awaitable);
      auto data = buffer.cdata();
      std::string_view text(static_cast<const char*>(data.data()), data.size());
      if (!counted_ready) {
        if (text.find("\"type\":\"error\"") != std::string_view::npos) {
          throw std::runtime_error(std::string(text.substr(0, 200)));
        }
        if (text.find("\"type\":\"up-to-date\"") != std::string_view::npos) {
          counted_ready = true;
          ++st.ready;
          --*slots;
        }
      } else if (st.measuring.load(std::memory_order_relaxed)) {
        // A change alone, or the changes of a batch ({"type":"batch","messages":[...]}).
        const auto now = now_us();
        constexpr std::string_view change = "{\"type\":\"change\"";
        for (auto at = text.find(change); at != std::string_view::npos;
             at = text.find(change, at + change.size())) {
          const auto next = text.find(change, at + change.size());
          const auto ts = stamp_of(text.substr(at, next == std::string_view::npos ? next : next - at));
          if (ts <= 0) continue;
          st.latencies_us.push_back(
              static_cast<std::uint32_t>(std::clamp<std::int64_t>(now - ts, 0, 4'000'000'000)));
          st.received.fetch_add(1, std::memory_order_relaxed);
        }
      }
      buffer.consume(buffer.size());
    }
  } catch (const std::exception& e) {
    if (!counted_ready) {
      ++st.failed;
      --*slots;
      if (st.first_error.empty()) st.first_error = e.what();
    }
  }
}

struct pg_conn {
  PGconn* c = nullptr;
  explicit pg_conn(const std::string& dsn) : c(PQconnectdb(dsn.c_str())) {
    if (PQstatus(c) != CONNECTION_OK)
      throw std::runtime_error(std::string("connect: ") + PQerrorMessage(c));
  }
  ~pg_conn() { PQfinish(c); }
  void exec(const char* sql) {
    PGresult* r = PQexec(c, sql);
    auto st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      throw std::runtime_error(std::string(sql) + ": " + PQerrorMessage(c));
  }
};

std::uint64_t parse_lsn(const char* text) {
  unsigned hi = 0, lo = 0;
  std::sscanf(text, "%X/%X", &hi, &lo);
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// The change log's latency: from the writer's stamp to the notification of the log's new
// high-water mark that covers the change (one writer connection, so the WAL position at the
// UPDATE orders the writes as their commits do).
struct log_watch {
  std::mutex mutex;
  std::deque<std::pair<std::uint64_t, std::int64_t>> pending;  // (lsn at the UPDATE, ts)
  std::vector<std::uint32_t> latencies_us;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
};

void listen_log(const std::string& dsn, log_watch& w) {
  pg_conn pg(dsn);
  pg.exec("LISTEN fieldsync_log");
  const int fd = PQsocket(pg.c);
  while (!w.stop) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    PQconsumeInput(pg.c);
    while (PGnotify* n = PQnotifies(pg.c)) {
      const auto at = now_us();
      std::string payload = n->extra;
      PQfreemem(n);
      auto space = payload.find(' ');
      if (space == std::string::npos) continue;
      const auto high = parse_lsn(payload.c_str() + space + 1);
      std::lock_guard lock(w.mutex);
      while (!w.pending.empty() && w.pending.front().first <= high) {
        if (w.measuring) {
          w.latencies_us.push_back(
              static_cast<std::uint32_t>(std::max<std::int64_t>(0, at - w.pending.front().second)));
        }
        w.pending.pop_front();
      }
    }
  }
}

struct writer_report {
  std::uint64_t changes = 0;
  double seconds = 0;
};

void write_changes(const options& o, log_watch& w, std::atomic<bool>& stop,
                   std::atomic<bool>& measuring, writer_report& report) {
  pg_conn pg(o.dsn);
  // The writer must keep its pace; the durability under test is the change log's.
  pg.exec("SET synchronous_commit = off");
  PGresult* prep = PQprepare(pg.c, "upd",
                             "UPDATE items SET seq = seq + 1, ts = (extract(epoch FROM "
                             "clock_timestamp()) * 1000000)::bigint "
                             "WHERE id = $1 RETURNING ts, pg_current_wal_insert_lsn()::text",
                             1, nullptr);
  PQclear(prep);
  std::mt19937 rng(12345);
  const auto period = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, o.rate));
  auto next = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point measured_from{};
  while (!stop) {
    next += period;
    std::this_thread::sleep_until(next);
    const std::string id = std::to_string(1 + rng() % static_cast<unsigned>(o.rows));
    const char* values[1] = {id.c_str()};
    PGresult* r = PQexecPrepared(pg.c, "upd", 1, values, nullptr, nullptr, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
      std::lock_guard lock(w.mutex);
      w.pending.emplace_back(parse_lsn(PQgetvalue(r, 0, 1)), std::stoll(PQgetvalue(r, 0, 0)));
    }
    PQclear(r);
    if (measuring) {
      if (report.changes == 0) measured_from = std::chrono::steady_clock::now();
      ++report.changes;
      report.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - measured_from).count();
    }
  }
}

double percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

bool g_deflate = false;
std::string g_round;  // a name for the round's metrics (--round), e.g. "capacity"

void result(const std::string& metric, double value, const std::string& unit, int clients,
            const std::string& extra = "") {
  std::printf(
      "{\"scenario\":\"fanout\",\"metric\":\"%s (%d "
      "clients%s%s)\",\"unit\":\"%s\",\"value\":%.3f,\"clients\":%d,\"deflate\":%s%s}\n",
      metric.c_str(), clients, g_deflate ? ", deflate" : "",
      g_round.empty() ? "" : (", " + g_round).c_str(), unit.c_str(), value, clients,
      g_deflate ? "true" : "false", extra.c_str());
  std::fflush(stdout);
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      o.port = v;
    else if (k == "--tokens")
      o.tokens_file = v;
    else if (k == "--dsn")
      o.dsn = v;
    else if (k == "--clients")
      o.clients = std::stoi(v);
    else if (k == "--rate")
      o.rate = std::stoi(v);
    else if (k == "--rows")
      o.rows = std::stoi(v);
    else if (k == "--warmup")
      o.warmup_s = std::stoi(v);
    else if (k == "--duration")
      o.duration_s = std::stoi(v);
    else if (k == "--server-pid")
      o.server_pid = std::stoi(v);
    else if (k == "--territories")
      o.territories = std::stoi(v);
    else if (k == "--parallel")
      o.connect_parallel = std::stoi(v);
    else if (k == "--deflate")
      o.deflate = v == "1";
    else if (k == "--round")
      g_round = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  std::vector<std::string> tokens;
  {
    std::ifstream in(o.tokens_file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) tokens.push_back(line);
    }
  }
  if (tokens.empty() || o.port.empty() || o.server_pid == 0) {
    std::cerr << "usage: fanout_loadgen --port P --tokens FILE --server-pid PID [--dsn DSN] "
                 "[--clients N] [--rate R] [--round NAME] ...\n"
                 "(without --dsn nothing is written: the server makes the changes itself, as "
                 "minimal_broadcaster does)\n";
    return 2;
  }
  // Without a database the server makes the changes (minimal_broadcaster): no writer, no
  // change log to watch.
  const bool writes = !o.dsn.empty();

  g_deflate = o.deflate;
  const auto rss_before = rss_kib(o.server_pid);
  asio::io_context ioc(1);
  shared_state st;
  st.latencies_us.reserve(
      static_cast<std::size_t>(o.rate) * static_cast<std::size_t>(o.duration_s) *
          static_cast<std::size_t>(std::max(1, o.clients / std::max(1, o.territories))) +
      1024);
  auto slots = std::make_shared<std::atomic<int>>(0);
  std::thread io([&] {
    auto guard = asio::make_work_guard(ioc);
    ioc.run();
  });

  // Connect in waves of `parallel` handshakes: clients arriving, not a thundering herd.
  const auto t0 = std::chrono::steady_clock::now();
  int started = 0;
  while (started < o.clients) {
    if (*slots < o.connect_parallel) {
      ++*slots;
      // Client i has the token of territory i % territories: every territory gets N/T.
      asio::co_spawn(ioc,
                     run_client(o, st, tokens[static_cast<std::size_t>(started) % tokens.size()],
                                started, slots),
                     asio::detached);
      ++started;
    } else {
      std::this_thread::sleep_for(1ms);
    }
    if (st.failed > 0) break;
  }
  while (st.ready + st.failed < started && std::chrono::steady_clock::now() - t0 < 600s) {
    std::this_thread::sleep_for(10ms);
  }
  const double connect_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "fanout: " << st.ready << " clients subscribed in " << connect_s << " s ("
            << st.failed << " failed)\n";
  if (st.failed > 0 || st.ready < o.clients) {
    std::cerr << "fanout: first failure: " << st.first_error << "\n";
    ioc.stop();
    io.join();
    std::_Exit(1);
  }
  result("connect and subscribe", connect_s, "s", o.clients);

  // Idle: every client connected, authenticated and subscribed; nothing moves.
  std::this_thread::sleep_for(3s);
  const auto rss_idle = rss_kib(o.server_pid);
  const double per_conn = static_cast<double>(rss_idle - rss_before) / o.clients;
  result("server RSS per idle connection", per_conn, "KiB", o.clients,
         std::string(g_round.empty() ? ",\"target\":\"value<=20\"" : "") + ",\"rss_before_kib\":" +
             std::to_string(rss_before) + ",\"rss_idle_kib\":" + std::to_string(rss_idle));

  log_watch watch;
  std::atomic<bool> stop_writer{false}, measuring_writer{false};
  writer_report wr;
  std::thread listener, writer;
  if (writes) {
    listener = std::thread([&] { listen_log(o.dsn, watch); });
    writer = std::thread([&] { write_changes(o, watch, stop_writer, measuring_writer, wr); });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.warmup_s));

  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  const auto cpu0 = cpu_ticks(o.server_pid);
  const auto self0 = cpu_ticks(static_cast<int>(getpid()));
  const auto w0 = std::chrono::steady_clock::now();
  asio::post(ioc, [&] { st.measuring = true; });
  watch.measuring = true;
  measuring_writer = true;
  std::this_thread::sleep_for(std::chrono::seconds(o.duration_s));
  measuring_writer = false;
  watch.measuring = false;
  std::atomic<bool> stopped{false};
  asio::post(ioc, [&] {
    st.measuring = false;
    stopped = true;
  });
  while (!stopped) std::this_thread::sleep_for(1ms);
  const double window =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  const auto cpu1 = cpu_ticks(o.server_pid);
  const auto self1 = cpu_ticks(static_cast<int>(getpid()));
  double load1 = 0;
  {
    std::ifstream in("/proc/loadavg");
    in >> load1;
  }
  const auto rss_busy = rss_kib(o.server_pid);
  if (writes) {
    stop_writer = true;
    writer.join();
    watch.stop = true;
    listener.join();
  }

  auto& lat = st.latencies_us;
  std::vector<std::uint32_t> log_lat;
  {
    std::lock_guard lock(watch.mutex);
    log_lat = watch.latencies_us;
  }
  const double changes_per_s = wr.seconds > 0 ? static_cast<double>(wr.changes) / wr.seconds : 0;
  const double subscribers_per_change = static_cast<double>(o.clients) / o.territories;
  const double delivered_per_s = static_cast<double>(st.received.load()) / window;
  const double offered_per_s = changes_per_s * subscribers_per_change;
  const double log_p50 = percentile(log_lat, 0.50), log_p99 = percentile(log_lat, 0.99);
  const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99);
  const double max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1000.0;

  if (writes) {
    result("writer changes/s", changes_per_s, "changes/s", o.clients,
           ",\"target\":\"value>=" + std::to_string(o.rate * 95 / 100) + "\"");
  }
  // Without a writer there is no commit: the latency runs from the server's own stamp.
  result(writes ? "commit->receive p50" : "stamp->receive p50", p50, "ms", o.clients,
         writes ? ",\"limit_name\":\"commit->log notify p50\",\"limit\":" + num(log_p50) : "");
  result(writes ? "commit->receive p99" : "stamp->receive p99", p99, "ms", o.clients,
         (writes ? ",\"limit_name\":\"commit->log notify p99\",\"limit\":" + num(log_p99) : "") +
             (o.clients >= 10'000 && g_round.empty() ? ",\"target\":\"value<=50\"" : ""));
  result(writes ? "commit->receive max" : "stamp->receive max", max, "ms", o.clients);
  result("messages delivered/s", delivered_per_s, "messages/s", o.clients,
         g_round.empty()
             ? ",\"limit_name\":\"offered (changes/s x subscribers per change)\",\"limit\":" +
                   num(offered_per_s) + ",\"target\":\"ratio>=0.95\""
             : std::string(",\"offered\":") + num(offered_per_s));
  result("server CPU",
         100.0 * static_cast<double>(cpu1 - cpu0) / static_cast<double>(ticks_per_s) / window,
         "% of one core", o.clients);
  result("server RSS under load", static_cast<double>(rss_busy) / 1024.0, "MiB", o.clients);
  result("load generator CPU",
         100.0 * static_cast<double>(self1 - self0) / static_cast<double>(ticks_per_s) / window,
         "% of one core", o.clients,
         ",\"machine_load_1min\":" + num(load1) +
             ",\"cores\":" + std::to_string(std::thread::hardware_concurrency()));
  std::cerr << "fanout: " << o.clients << " clients: " << st.received.load()
            << " changes received in " << window << " s; log latency samples " << log_lat.size()
            << "\n";
  ioc.stop();
  io.join();
  // The sockets close with the process; the server sees the disconnects.
  std::_Exit(0);
}
