#include "server/net/router.hpp"

#include "protocol/pg_text.hpp"

#include <optional>

namespace fieldsync::server {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') { out.push_back(s[i]); continue; }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]);
    int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  // Every decoded path and query value is text that may reach SQL: refused here, bytes
  // PostgreSQL would refuse are the client's 400 (or 404), never the database's error.
  if (!protocol::is_pg_text(out)) return std::nullopt;
  return out;
}

std::string_view request_context::param(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

void router::add(http::verb method, std::string pattern, route_handler handler) {
  route r{method, {}, std::move(handler)};
  for (auto seg : split_path(pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

boost::asio::awaitable<http_response> router::dispatch(const http_request& req,
                                                       response_stream* stream) const {
  std::string_view target = req.target();
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? std::string_view{}
                                                          : target.substr(qpos + 1);
  auto segments = split_path(path);

  std::string allow;
  bool bad_param = false;  // a route's literal segments matched, a parameter did not decode
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    request_context ctx{req, path, query, {}, stream};
    bool match = true;
    bool undecodable = false;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      const auto& want = r.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        auto decoded = percent_decode(segments[i]);
        if (!decoded) {
          undecodable = true;
          continue;
        }
        if (decoded->empty()) {
          match = false;
          break;
        }
        ctx.path_params.emplace_back(want.substr(1, want.size() - 2), std::move(*decoded));
      } else {
        match = want == segments[i];
      }
    }
    if (match && undecodable) bad_param = true;
    if (!match || undecodable) continue;
    bool head_as_get = req.method() == http::verb::head && r.method == http::verb::get;
    if (r.method != req.method() && !head_as_get) {
      allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(r.method));
      continue;
    }
    co_return co_await r.handler(ctx);
  }
  if (!allow.empty()) {
    auto res = error_response(req, http::status::method_not_allowed, "method_not_allowed",
                              std::string(req.method_string()) + " is not allowed on " +
                                  std::string(path) + "; allowed: " + allow);
    res.set(http::field::allow, allow);
    co_return res;
  }
  if (bad_param) {
    co_return error_response(req, http::status::bad_request, "bad_path",
                             "a path segment has a malformed %-escape or is not UTF-8 text");
  }
  if (fallback_ && (req.method() == http::verb::get || req.method() == http::verb::head)) {
    request_context ctx{req, path, query, {}, stream};
    co_return co_await fallback_(ctx);
  }
  co_return error_response(req, http::status::not_found, "not_found",
                           "no such endpoint: " + std::string(path));
}

}  // namespace fieldsync::server
