#include "server/net/http_body.hpp"

#include <zlib.h>
#include <boost/json/serialize.hpp>

#include <cstdint>

namespace fieldsync::server {

namespace {

// Splits a header list on commas, trimming spaces.
template <typename F>
void for_each_item(std::string_view list, F&& f) {
  std::size_t i = 0;
  while (i <= list.size()) {
    auto comma = list.find(',', i);
    if (comma == std::string_view::npos) comma = list.size();
    auto item = list.substr(i, comma - i);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) f(item);
    i = comma + 1;
  }
}

}  // namespace

std::string etag_of(std::string_view body) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[19];
  out[0] = '"';
  for (int i = 16; i >= 1; --i) {
    out[i] = "0123456789abcdef"[h & 0xF];
    h >>= 4;
  }
  out[17] = '"';
  out[18] = '\0';
  return out;
}

bool etag_matches(const http_request& req, std::string_view etag) {
  auto it = req.find(http::field::if_none_match);
  if (it == req.end()) return false;
  bool found = false;
  for_each_item(it->value(), [&](std::string_view item) {
    if (item == "*") found = true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) found = true;
  });
  return found;
}

bool accepts_gzip(const http_request& req) {
  auto it = req.find(http::field::accept_encoding);
  if (it == req.end()) return false;
  bool ok = false;
  for_each_item(it->value(), [&](std::string_view item) {
    auto semi = item.find(';');
    auto coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip" && coding != "*") return;
    if (semi != std::string_view::npos) {
      auto params = item.substr(semi + 1);
      auto q = params.find("q=");
      if (q != std::string_view::npos) {
        auto v = params.substr(q + 2);
        // q=0, q=0.0, q=0.000: refused.
        bool zero = !v.empty() && v.front() == '0';
        for (std::size_t i = 1; zero && i < v.size(); ++i) {
          if (v[i] != '.' && v[i] != '0') zero = false;
        }
        if (zero) return;
      }
    }
    ok = true;
  });
  return ok;
}

struct gzip_stream::impl {
  z_stream z{};
  bool ok = false;
};

gzip_stream::gzip_stream() : impl_(std::make_unique<impl>()) {
  // windowBits 15 + 16: a gzip wrapper rather than zlib's.
  impl_->ok = deflateInit2(&impl_->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

gzip_stream::~gzip_stream() {
  if (impl_->ok) deflateEnd(&impl_->z);
}

namespace {

std::string run_deflate(z_stream& z, std::string_view data, int flush) {
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char buf[16384];
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    int rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) break;
    out.append(buf, sizeof(buf) - z.avail_out);
    if (rc == Z_STREAM_END) break;
  } while (z.avail_out == 0 || z.avail_in > 0);
  return out;
}

}  // namespace

std::string gzip_stream::push(std::string_view data) {
  if (!impl_->ok || data.empty()) return {};
  return run_deflate(impl_->z, data, Z_SYNC_FLUSH);
}

std::string gzip_stream::finish() {
  if (!impl_->ok) return {};
  return run_deflate(impl_->z, {}, Z_FINISH);
}

std::string gzip_compress(std::string_view data) {
  gzip_stream g;
  std::string out = g.push(data);
  out += g.finish();
  return out;
}

std::shared_ptr<prepared_body> prepare_body(std::string content_type, std::string body,
                                            std::size_t min_gzip_bytes) {
  auto p = std::make_shared<prepared_body>();
  p->content_type = std::move(content_type);
  p->etag = etag_of(body);
  if (body.size() >= min_gzip_bytes) p->gzipped = gzip_compress(body);
  p->body = std::move(body);
  return p;
}

http_response serve_body(const http_request& req, const prepared_body& body,
                         std::string_view cache_control) {
  bool gz = !body.gzipped.empty() && accepts_gzip(req);
  http_response res{etag_matches(req, body.etag) ? http::status::not_modified : http::status::ok,
                    req.version()};
  res.set(http::field::server, "fieldsync");
  res.set(http::field::cache_control, cache_control);
  res.set(http::field::vary, "Authorization, Accept-Encoding");
  res.set(http::field::etag, body.etag);
  res.keep_alive(req.keep_alive());
  for (const auto& [name, value] : body.headers) res.set(name, value);
  if (res.result() == http::status::not_modified) return res;
  res.set(http::field::content_type, body.content_type);
  if (gz) {
    res.set(http::field::content_encoding, "gzip");
    res.body() = body.gzipped;
  } else {
    res.body() = body.body;
  }
  res.prepare_payload();
  return res;
}

http_response parameter_error(const http_request& req, std::string_view code,
                              std::string_view message, std::string_view parameter,
                              std::optional<std::size_t> position) {
  boost::json::object err{{"code", code}, {"message", message}, {"parameter", parameter}};
  if (position) err["position"] = *position;
  return json_response(req, http::status::bad_request, {{"error", std::move(err)}});
}

}  // namespace fieldsync::server
