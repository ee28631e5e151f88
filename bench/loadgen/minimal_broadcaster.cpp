// The fan-out's physical limit (bench/scenarios/fanout, capacity round): the same messages
// to the same loopback WebSocket connections, with Beast and nothing else. No database, no
// change log, no matching, no authentication: a connection's first message (hello) gets a
// welcome, its second (subscribe) an up-to-date, and from then on it receives the changes
// of territory (accept order mod --territories), as fieldsync's clients receive theirs.
// One reactor thread, as fieldsync's fan-out has; what waits in a connection's queue goes
// out as one `batch` message, as fieldsync sends it (the buffers point into the shared
// messages: no copy).
//
// It generates --rate changes per second, each shaped like fieldsync's change message for
// the scenario's `items` rows and stamped with the time (`ts`, microseconds) for the load
// generator's latency; while more than --max-queued messages wait in all queues together it
// generates nothing (so at saturation it delivers what it can, and its memory stays bounded).
//
// It starts generating once --clients connections have subscribed (as fieldsync's writer
// starts once the load generator's clients are in).
//
// Usage: minimal_broadcaster --port-file FILE --rate N --clients N [--territories 100]
//        [--max-queued N]

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t g_subscribed = 0;  // connections that have subscribed
std::size_t g_queued = 0;      // messages waiting in all queues (one thread: no atomics)

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket s) : ws_(std::move(s)) {}

  asio::awaitable<void> run(std::vector<std::vector<std::shared_ptr<session>>>& territories,
                            std::size_t territory) {
    auto self = shared_from_this();
    try {
      ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(beast::http::field::sec_websocket_protocol, "fieldsync.v1");
      }));
      co_await ws_.async_accept(asio::use_awaitable);
      ws_.text(true);
      beast::flat_buffer buffer;
      co_await ws_.async_read(buffer, asio::use_awaitable);  // hello
      buffer.consume(buffer.size());
      send(std::make_shared<const std::string>(R"({"type":"welcome","protocol":1})"));
      co_await ws_.async_read(buffer, asio::use_awaitable);  // subscribe
      buffer.consume(buffer.size());
      send(std::make_shared<const std::string>(R"({"type":"up-to-date","id":"s"})"));
      territories[territory].push_back(self);
      ++g_subscribed;
      for (;;) {
        co_await ws_.async_read(buffer, asio::use_awaitable);
        buffer.consume(buffer.size());
      }
    } catch (const std::exception&) {
      closed_ = true;
    }
  }

  void send(std::shared_ptr<const std::string> m) {
    if (closed_) return;
    queue_.push_back(std::move(m));
    ++g_queued;
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
    }
  }

 private:
  asio::awaitable<void> write_loop() {
    auto self = shared_from_this();
    static const std::string open = R"({"type":"batch","messages":[)";
    static const std::string comma = ",";
    static const std::string close = "]}";
    std::vector<std::shared_ptr<const std::string>> sending;
    std::vector<asio::const_buffer> buffers;
    while (!queue_.empty() && !closed_) {
      sending.assign(queue_.begin(), queue_.end());
      g_queued -= queue_.size();
      queue_.clear();
      buffers.clear();
      if (sending.size() == 1) {
        buffers.push_back(asio::buffer(*sending.front()));
      } else {
        buffers.push_back(asio::buffer(open));
        for (std::size_t i = 0; i < sending.size(); ++i) {
          if (i > 0) buffers.push_back(asio::buffer(comma));
          buffers.push_back(asio::buffer(*sending[i]));
        }
        buffers.push_back(asio::buffer(close));
      }
      auto [ec, n] = co_await ws_.async_write(buffers, asio::as_tuple(asio::use_awaitable));
      if (ec) closed_ = true;
    }
    g_queued -= queue_.size();
    queue_.clear();
    writing_ = false;
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  int rate = 1000;
  std::size_t clients = 1;
  std::size_t territory_count = 100;
  std::size_t max_queued = 200'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port-file")
      port_file = v;
    else if (k == "--rate")
      rate = std::stoi(v);
    else if (k == "--clients")
      clients = std::stoul(v);
    else if (k == "--territories")
      territory_count = std::stoul(v);
    else if (k == "--max-queued")
      max_queued = std::stoul(v);
    else {
      std::cerr << "minimal_broadcaster: unknown option " << k << "\n";
      return 2;
    }
  }
  if (port_file.empty() || rate <= 0 || territory_count == 0) {
    std::cerr << "usage: minimal_broadcaster --port-file FILE --rate N --clients N "
                 "[--territories N] [--max-queued N]\n";
    return 2;
  }

  asio::io_context ioc(1);
  std::vector<std::vector<std::shared_ptr<session>>> territories(territory_count);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.listen(asio::socket_base::max_listen_connections);
  {
    std::ofstream out(port_file);
    out << acceptor.local_endpoint().port() << "\n";
  }
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        std::size_t accepted = 0;
        for (;;) {
          auto s = co_await acceptor.async_accept(asio::use_awaitable);
          s.set_option(tcp::no_delay(true));
          auto c = std::make_shared<session>(std::move(s));
          asio::co_spawn(ioc, c->run(territories, accepted++ % territory_count), asio::detached);
        }
      },
      asio::detached);

  // The changes: every millisecond what the rate owes since the start (none while the
  // queues are full), each to the sessions of its row's territory.
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(ioc);
        while (g_subscribed < clients) {
          timer.expires_after(10ms);
          co_await timer.async_wait(asio::use_awaitable);
        }
        std::mt19937 rng(12345);
        const auto start = std::chrono::steady_clock::now();
        std::uint64_t made = 0, seq = 0;
        const std::string payload(100, 'x');
        for (;;) {
          timer.expires_after(1ms);
          co_await timer.async_wait(asio::use_awaitable);
          const auto owed = static_cast<std::uint64_t>(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() *
              rate);
          if (g_queued > max_queued) {
            made = owed;  // skipped, not owed later
            continue;
          }
          for (; made < owed; ++made) {
            const std::uint64_t id = 1 + rng() % 10'000;
            const std::size_t territory = id % territory_count;
            ++seq;
            char buf[512];
            const int n = std::snprintf(
                buf, sizeof buf,
                R"({"type":"change","id":"s","op":"update","key":"%llu","row":{"id":%llu,)"
                R"("territory_id":%zu,"seq":%llu,"ts":%lld,"payload":"%s"},)"
                R"("cursor":"1796000000000-%016llX"})",
                static_cast<unsigned long long>(id), static_cast<unsigned long long>(id),
                territory + 1, static_cast<unsigned long long>(seq),
                static_cast<long long>(now_us()), payload.c_str(),
                static_cast<unsigned long long>(seq * 64));
            auto m = std::make_shared<const std::string>(buf, static_cast<std::size_t>(n));
            for (auto& s : territories[territory]) s->send(m);
          }
        }
      },
      asio::detached);
  ioc.run();
}
