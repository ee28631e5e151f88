#include "server/net/static_files.hpp"

#include "server/net/http_body.hpp"
#include "server/net/router.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace fieldsync::server {

namespace fs = std::filesystem;

namespace {

struct media_type {
  std::string_view extension;
  std::string_view type;
  bool compressible;
};

constexpr std::array media_types{
    media_type{".html", "text/html; charset=utf-8", true},
    media_type{".js", "text/javascript; charset=utf-8", true},
    media_type{".mjs", "text/javascript; charset=utf-8", true},
    media_type{".css", "text/css; charset=utf-8", true},
    media_type{".json", "application/json", true},
    media_type{".map", "application/json", true},
    media_type{".webmanifest", "application/manifest+json", true},
    media_type{".svg", "image/svg+xml", true},
    media_type{".txt", "text/plain; charset=utf-8", true},
    media_type{".xml", "application/xml", true},
    media_type{".wasm", "application/wasm", true},
    media_type{".ico", "image/x-icon", true},
    media_type{".png", "image/png", false},
    media_type{".jpg", "image/jpeg", false},
    media_type{".jpeg", "image/jpeg", false},
    media_type{".webp", "image/webp", false},
    media_type{".gif", "image/gif", false},
    media_type{".avif", "image/avif", false},
    media_type{".woff2", "font/woff2", false},
    media_type{".woff", "font/woff", false},
    media_type{".gz", "application/gzip", false},
};

const media_type* media_of(std::string_view filename) {
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return nullptr;
  auto ext = filename.substr(dot);
  for (const auto& m : media_types) {
    if (ext.size() != m.extension.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < ext.size() && same; ++i) {
      char c = ext[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == m.extension[i];
    }
    if (same) return &m;
  }
  return nullptr;
}

bool ends_with_html(std::string_view name) {
  const auto* m = media_of(name);
  return m && m->extension == ".html";
}

bool inside(const fs::path& root, const fs::path& p) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

// The canonical form of `p` if it exists and lies inside `root`.
std::optional<fs::path> canonical_inside(const fs::path& root, const fs::path& p) {
  std::error_code ec;
  auto c = fs::canonical(p, ec);
  if (ec || !inside(root, c)) return std::nullopt;
  return c;
}

std::optional<std::string> read_all(const fs::path& file, std::uintmax_t size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out;
  out.resize(static_cast<std::size_t>(size));
  in.read(out.data(), static_cast<std::streamsize>(size));
  out.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::vector<std::string>> static_path_segments(std::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') return std::nullopt;
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i <= raw_path.size()) {
    auto slash = raw_path.find('/', i);
    if (slash == std::string_view::npos) slash = raw_path.size();
    auto raw = raw_path.substr(i, slash - i);
    const bool last = slash == raw_path.size();
    if (raw.empty()) {
      // "//" inside the path is refused; a trailing slash ("/icons/") names the directory.
      if (!last) return std::nullopt;
      break;
    }
    auto seg = percent_decode(raw);
    if (!seg || seg->empty() || seg->front() == '.') return std::nullopt;  // ., .., hidden
    if (seg->find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) return std::nullopt;
    out.push_back(std::move(*seg));
    i = slash + 1;
  }
  return out;
}

std::string_view static_content_type(std::string_view filename) {
  const auto* m = media_of(filename);
  return m ? m->type : "application/octet-stream";
}

bool is_content_hashed(std::string_view filename) {
  if (ends_with_html(filename)) return false;
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  auto stem = filename.substr(0, dot);
  auto sep = stem.find_last_of("-.");
  if (sep == std::string_view::npos) return false;
  auto hash = stem.substr(sep + 1);
  if (hash.size() < 8 || hash.size() > 64) return false;
  bool marked = false;
  for (char c : hash) {
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    if (!digit && !upper && !lower) return false;
    marked = marked || digit || upper;
  }
  return marked;
}

std::string_view static_cache_control(std::string_view filename) {
  return is_content_hashed(filename) ? "public, max-age=31536000, immutable" : "no-cache";
}

static_files::static_files(const fs::path& root) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  if (ec || !fs::is_directory(root_, ec)) {
    throw std::runtime_error("server.static_dir: " + root.string() + " is not a directory");
  }
}

std::optional<static_files::resolved> static_files::resolve(const std::vector<std::string>& segments) const {
  fs::path p = root_;
  for (const auto& s : segments) p /= s;
  auto c = canonical_inside(root_, p);
  if (!c) return std::nullopt;
  std::error_code ec;
  bool index = false;
  if (fs::is_directory(*c, ec)) {
    c = canonical_inside(root_, *c / "index.html");
    if (!c) return std::nullopt;
    index = true;
  }
  if (!fs::is_regular_file(*c, ec)) return std::nullopt;
  return resolved{*c, index};
}

std::shared_ptr<const static_files::entry> static_files::load(const fs::path& file) const {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec || size > max_file_bytes) return nullptr;
  const auto mtime = fs::last_write_time(file, ec);
  if (ec) return nullptr;

  // A precompressed sibling counts when it is at least as new as the file (an older one
  // belongs to a previous build) and lies inside the directory too.
  std::optional<fs::path> gz;
  fs::file_time_type gz_mtime{};
  if (auto g = canonical_inside(root_, fs::path(file.string() + ".gz"))) {
    auto t = fs::last_write_time(*g, ec);
    if (!ec && t >= mtime && fs::is_regular_file(*g, ec) && fs::file_size(*g, ec) <= max_file_bytes) {
      gz = *g;
      gz_mtime = t;
    }
  }

  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(file);
    if (it != cache_.end() && it->second->size == size && it->second->mtime == mtime &&
        it->second->gz_mtime == gz_mtime) {
      return it->second;
    }
  }

  auto e = std::make_shared<entry>();
  auto body = read_all(file, size);
  if (!body) return nullptr;
  e->size = size;
  e->mtime = mtime;
  e->etag = etag_of(*body);
  if (gz) {
    if (auto z = read_all(*gz, fs::file_size(*gz, ec))) {
      e->gzipped = std::move(*z);
      e->gz_mtime = gz_mtime;
    }
  } else if (const auto* m = media_of(file.filename().string()); m && m->compressible && body->size() >= 1024) {
    e->gzipped = gzip_compress(*body);
    if (e->gzipped.size() >= body->size()) e->gzipped.clear();
  }
  e->body = std::move(*body);

  std::lock_guard lock(mutex_);
  const std::size_t bytes = e->body.size() + e->gzipped.size();
  if (auto it = cache_.find(file); it != cache_.end()) {
    cached_bytes_ -= it->second->body.size() + it->second->gzipped.size();
    cache_.erase(it);
  }
  // A bound, not an eviction policy: an app shell fits many times over; a directory that
  // does not starts the cache afresh.
  if (cached_bytes_ + bytes > max_cache_bytes) {
    cache_.clear();
    cached_bytes_ = 0;
  }
  cache_.emplace(file, e);
  cached_bytes_ += bytes;
  return e;
}

http_response static_files::serve(const http_request& req, std::string_view path) const {
  auto segments = static_path_segments(path);
  if (!segments) {
    // A malformed escape is the client's syntax error; everything else refused looks like
    // a missing file, so nothing tells what exists outside the directory.
    if (!percent_decode(path)) {
      return error_response(req, http::status::bad_request, "bad_request",
                            "malformed percent-encoding in the path");
    }
    return error_response(req, http::status::not_found, "not_found",
                          "no such file: " + std::string(path));
  }
  auto found = resolve(*segments);
  std::shared_ptr<const entry> e = found ? load(found->file) : nullptr;
  if (!e) {
    return error_response(req, http::status::not_found, "not_found",
                          "no such file: " + std::string(path));
  }
  // The name the client asked for decides the caching: an alias without a hash is
  // revalidated even when it points at a hashed file.
  const std::string served = found->index ? std::string("index.html") : segments->back();
  const bool gzip = !e->gzipped.empty() && accepts_gzip(req);
  // Each representation has its own strong validator (RFC 9110 8.8.3); either one held by
  // the client means it has the current bytes.
  const std::string etag = gzip ? e->etag.substr(0, e->etag.size() - 1) + "-gz\"" : e->etag;
  const bool fresh = etag_matches(req, e->etag) ||
                     etag_matches(req, e->etag.substr(0, e->etag.size() - 1) + "-gz\"");

  http_response res{fresh ? http::status::not_modified : http::status::ok, req.version()};
  res.set(http::field::server, "fieldsync");
  res.set(http::field::cache_control, static_cache_control(served));
  res.set(http::field::etag, etag);
  res.set(http::field::vary, "Accept-Encoding");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  if (fresh) return res;
  res.set(http::field::content_type, static_content_type(found->file.filename().string()));
  if (gzip) {
    res.set(http::field::content_encoding, "gzip");
    res.body() = e->gzipped;
  } else {
    res.body() = e->body;
  }
  res.prepare_payload();
  return res;
}

}  // namespace fieldsync::server
