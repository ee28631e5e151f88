// What a hostile or careless client can do to the HTTP listeners of the real binary, over
// real sockets: lines that never end (a chunk-size line, a trailer), bodies in chunks up to
// the limit, a request that trickles in, a WebSocket frame in the upgrade's own segment, a
// flood of the public port while operators need the admin one (issue 15, items 1, 5, 11
// and 12). Every wait has a deadline; none of them asserts how long something took.

#include "tests/support/http_client.hpp"
#include "tests/support/pg_test_db.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_token.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace fieldsync::test;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// A loopback TCP connection driven with plain POSIX calls, byte by byte if need be: what a
// client that does not play by the rules does.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() { ::close(fd_); }

  // Everything, in one write() call when the kernel takes it; false once the server has
  // closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads what arrives within `wait` (into received()); true once the server closed.
  bool poll_closed(std::chrono::milliseconds wait) {
    if (closed_) return true;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (r <= 0) return false;
    char buf[16384];
    auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      received_.append(buf, static_cast<std::size_t>(n));
      return false;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    closed_ = true;  // eof or reset
    return true;
  }

  // Reads until `done(received())` or the server closes; false when `deadline` passed first.
  bool read_until(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds deadline = 30s) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!done(received_)) {
      if (closed_) return done(received_);
      if (std::chrono::steady_clock::now() >= end) return false;
      poll_closed(100ms);
    }
    return true;
  }

  // True when the server closed the connection before `deadline`.
  bool wait_closed(std::chrono::milliseconds deadline = 30s) {
    return read_until([](const std::string&) { return false; }, deadline) || closed_;
  }

  const std::string& received() const noexcept { return received_; }
  void clear() { received_.clear(); }
  bool closed() const noexcept { return closed_; }

 private:
  int fd_;
  std::string received_;
  bool closed_ = false;
};

// A whole answer with Content-Length is in `s` (the first one only).
bool has_answer(const std::string& s) {
  auto end = s.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  auto head = s.substr(0, end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto cl = head.find("content-length:");
  if (cl == std::string::npos) return true;
  auto len = std::stoul(head.substr(cl + 15));
  return s.size() >= end + 4 + len;
}

std::string chunk(std::string_view data, std::string_view extension = {}) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", data.size());
  return std::string(size) + std::string(extension) + "\r\n" + std::string(data) + "\r\n";
}

// Sends `head`, then `filler` again and again (up to `total` bytes), as a client whose line
// never ends; the server must cut the connection (answering 431 or not) well before the
// request timeout, which the tests set far away.
void check_cut_at_header_limit(std::uint16_t port, const std::string& head, char filler,
                               std::size_t total) {
  raw_connection c(port);
  REQUIRE(c.send(head));
  const std::string piece(1024, filler);
  std::size_t sent = 0;
  while (sent < total && c.send(piece)) {
    sent += piece.size();
    c.poll_closed(0ms);
  }
  REQUIRE(c.wait_closed());
  // An answer the client could read says why; a reset may have discarded it.
  if (!c.received().empty()) {
    CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 431"));
    CHECK_THAT(c.received(), Catch::Contains("\"code\":\"headers_too_large\""));
  }
}

}  // namespace

TEST_CASE("a chunk-size line or a trailer that never ends is cut at the header limit",
          "[e2e][http][limits]") {
  fresh_database db;
  // The request timeout is far away: only the header limit can end these requests.
  server_process server(db.conninfo(), "",
                        {{"FIELDSYNC_SERVER_MAX_HEADER_BYTES", "2048"},
                         {"FIELDSYNC_SERVER_REQUEST_TIMEOUT_MS", "100000"}});
  const auto port = server.public_port();
  const std::string post =
      "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  constexpr std::size_t total = 256 * 1024;  // 128 times the limit

  SECTION("an endless chunk extension") {
    check_cut_at_header_limit(port, post + "5;ext=", 'a', total);
  }
  SECTION("an endless chunk size") { check_cut_at_header_limit(port, post, '0', total); }
  SECTION("an endless trailer line") {
    check_cut_at_header_limit(port, post + chunk("hello") + "0\r\nX-Trailer: ", 'a', total);
  }
  SECTION("a trailer section that never ends, in short lines") {
    raw_connection c(port);
    REQUIRE(c.send(post + chunk("hello") + "0\r\n"));
    std::string lines;
    for (int i = 0; i < 64; ++i) lines += "X-T: a\r\n";
    std::size_t sent = 0;
    while (sent < total && c.send(lines)) sent += lines.size();
    REQUIRE(c.wait_closed());
    if (!c.received().empty()) CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 431"));
  }
  SECTION("an endless request line and header, as before") {
    check_cut_at_header_limit(port, "GET /", 'a', total);
    check_cut_at_header_limit(port, "GET / HTTP/1.1\r\nX-Long: ", 'a', total);
  }

  // The server is still fine afterwards.
  CHECK(http_call(port, http::verb::get, "/healthz").status == 200);
  CHECK(server.terminate() == 0);
}

TEST_CASE("a chunked body up to max_body_bytes is read whole, one over it gets 413",
          "[e2e][http][limits]") {
  fresh_database db;
  server_process server(db.conninfo(), "",
                        {{"FIELDSYNC_SERVER_MAX_HEADER_BYTES", "2048"},
                         {"FIELDSYNC_SERVER_MAX_BODY_BYTES", "262144"}});
  const auto head = std::string(
                        "PUT /admin/v1/log-level HTTP/1.1\r\nHost: t\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n"
                        "Authorization: Bearer ") +
                    test_admin_token + "\r\n\r\n";
  // A JSON document padded with whitespace to the limit, in chunks five times the size of
  // the header limit (so of the read buffer), with extensions and a trailer.
  auto send_body = [&](raw_connection& c, std::size_t size) {
    std::string body = R"({"level":"info"})";
    body.append(size - body.size(), ' ');
    bool ok = c.send(head);
    for (std::size_t at = 0; ok && at < body.size(); at += 10'000) {
      ok = c.send(chunk(std::string_view(body).substr(at, 10'000), ";part=1"));
    }
    if (ok) c.send("0\r\nX-Checksum: none\r\n\r\n");
  };

  raw_connection whole(server.admin_port());
  send_body(whole, 262144);
  REQUIRE(whole.read_until(has_answer));
  CHECK_THAT(whole.received(), Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(whole.received(), Catch::Contains(R"({"level":"info"})"));

  raw_connection over(server.admin_port());
  send_body(over, 262145);
  REQUIRE(over.wait_closed());
  if (!over.received().empty()) {
    CHECK_THAT(over.received(), Catch::StartsWith("HTTP/1.1 413"));
    CHECK_THAT(over.received(), Catch::Contains("\"code\":\"body_too_large\""));
  }
  CHECK(server.terminate() == 0);
}

TEST_CASE(
    "a keep-alive connection idles for keepalive_timeout, a trickling request is cut at "
    "request_timeout",
    "[e2e][http][limits]") {
  fresh_database db;
  server_process server(db.conninfo(), "",
                        {{"FIELDSYNC_SERVER_REQUEST_TIMEOUT_MS", "500"},
                         {"FIELDSYNC_SERVER_KEEPALIVE_TIMEOUT_MS", "60000"}});
  const auto port = server.public_port();
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

  // Sends one byte at a time until the server closes (true) or the deadline passes.
  auto trickle_until_closed = [](raw_connection& c, std::string_view start) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    std::string bytes = std::string(start) + "X-Slow: ";
    for (std::size_t i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
      if (!c.send(std::string_view(i < bytes.size() ? &bytes[i] : "a", 1))) return true;
      if (c.poll_closed(100ms)) return true;
    }
    return false;
  };

  raw_connection c(port);
  REQUIRE(c.send(get));
  REQUIRE(c.read_until(has_answer));
  CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 200"));

  // Idle between requests for longer than the request timeout: the keep-alive timeout
  // applies, so the connection still carries the next request.
  std::this_thread::sleep_for(1500ms);
  c.clear();
  REQUIRE(c.send(get));
  REQUIRE(c.read_until(has_answer));
  CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 200"));

  // Then a request that trickles in after its first byte: cut at the request timeout, not
  // given the keep-alive timeout.
  c.clear();
  CHECK(trickle_until_closed(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n"));
  CHECK(c.received().empty());

  // The first request of a fresh connection too.
  raw_connection fresh(port);
  CHECK(trickle_until_closed(fresh, "GET /healthz HTTP/1.1\r\n"));

  CHECK(http_call(port, http::verb::get, "/healthz").status == 200);
  CHECK(server.terminate() == 0);
}

namespace {

// A client frame: text, final, masked (as RFC 6455 asks of clients).
std::string client_text_frame(std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x81);
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>((payload.size() >> 8) & 0xff);
    f += static_cast<char>(payload.size() & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// The unmasked server frames after the 101 answer in `s`: {opcode, payload}, whole ones only.
std::vector<std::pair<int, std::string>> server_frames(const std::string& s) {
  std::vector<std::pair<int, std::string>> out;
  auto at = s.find("\r\n\r\n");
  if (at == std::string::npos) return out;
  at += 4;
  while (at + 2 <= s.size()) {
    const int opcode = static_cast<unsigned char>(s[at]) & 0x0f;
    std::size_t len = static_cast<unsigned char>(s[at + 1]) & 0x7f;
    std::size_t head = 2;
    if (len == 126) {
      if (at + 4 > s.size()) break;
      len = (static_cast<std::size_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
            static_cast<unsigned char>(s[at + 3]);
      head = 4;
    } else if (len == 127) {
      break;  // no fieldsync reply here is that long
    }
    if (at + head + len > s.size()) break;
    out.emplace_back(opcode, s.substr(at + head, len));
    at += head + len;
  }
  return out;
}

// The fieldsync.v1 messages in the text frames of `s`, a batch given out as its messages.
std::vector<json::value> server_messages(const std::string& s) {
  std::vector<json::value> out;
  for (const auto& [opcode, payload] : server_frames(s)) {
    if (opcode != 1) continue;
    auto v = json::parse(payload);
    if (v.at("type") == "batch") {
      for (const auto& m : v.at("messages").as_array()) out.push_back(m);
    } else {
      out.push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("WebSocket frames sent in the same write as the upgrade request are answered",
          "[e2e][ws][limits]") {
  fresh_database db;
  server_process server(db.conninfo(), test_auth_toml());
  const std::string upgrade =
      "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: fieldsync.v1\r\n\r\n";
  const auto hello = json::serialize(json::object{{"type", "hello"},
                                                  {"token", hs256_token({{"sub", "rep-7"}})},
                                                  {"client_id", "c1"},
                                                  {"protocol", 1}});
  raw_connection c(server.public_port());
  // One write(): on loopback the server reads it in one segment with the request.
  REQUIRE(
      c.send(upgrade + client_text_frame(R"({"type":"ping","id":1})") + client_text_frame(hello)));
  REQUIRE(c.read_until([](const std::string& s) { return server_messages(s).size() >= 2; }));
  CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 101"));
  auto messages = server_messages(c.received());
  REQUIRE(messages.size() >= 2);
  CHECK(messages[0].at("type") == "pong");
  CHECK(messages[0].at("id") == 1);
  CHECK(messages[1].at("type") == "welcome");
  CHECK(server.terminate() == 0);
}

TEST_CASE(
    "the admin listener answers while the public one is at max_connections, and each "
    "listener has its own budget",
    "[e2e][http][limits][admin]") {
  fresh_database db;
  server_process server(
      db.conninfo(), "",
      {{"FIELDSYNC_SERVER_MAX_CONNECTIONS", "4"}, {"FIELDSYNC_SERVER_ADMIN_MAX_CONNECTIONS", "2"}});
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  // Connections that did one request and stay open: accepted and counted.
  auto hold = [&](std::uint16_t port, std::vector<std::unique_ptr<raw_connection>>& held) {
    auto c = std::make_unique<raw_connection>(port);
    REQUIRE(c->send(get));
    REQUIRE(c->read_until(has_answer));
    CHECK_THAT(c->received(), Catch::StartsWith("HTTP/1.1 200"));
    held.push_back(std::move(c));
  };
  auto refused = [&](std::uint16_t port) {
    raw_connection c(port);
    c.send(get);
    c.read_until(has_answer);
    return c.received().starts_with("HTTP/1.1 503") &&
           c.received().find("\"code\":\"too_many_connections\"") != std::string::npos;
  };

  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 4; ++i) hold(server.public_port(), flood);
  CHECK(refused(server.public_port()));

  // The operators' endpoints still answer.
  const headers admin_auth{{"Authorization", std::string("Bearer ") + test_admin_token}};
  CHECK(http_call(server.admin_port(), http::verb::get, "/healthz").status == 200);
  CHECK(http_call(server.admin_port(), http::verb::get, "/readyz").status == 200);
  CHECK(http_call(server.admin_port(), http::verb::get, "/metrics").status == 200);
  CHECK(
      http_call(server.admin_port(), http::verb::get, "/admin/v1/status", {}, admin_auth).status ==
      200);

  // The admin listener's own budget: full, it refuses, and the public one is unaffected
  // once a public connection ends.
  std::vector<std::unique_ptr<raw_connection>> admins;
  for (int i = 0; i < 2; ++i) hold(server.admin_port(), admins);
  CHECK(refused(server.admin_port()));
  flood.pop_back();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    answered = http_call(server.public_port(), http::verb::get, "/healthz").status == 200;
    if (!answered) std::this_thread::sleep_for(50ms);  // the server has yet to see the close
  }
  CHECK(answered);
  CHECK(refused(server.admin_port()));
  admins.clear();
  flood.clear();
  CHECK(server.terminate() == 0);
}
