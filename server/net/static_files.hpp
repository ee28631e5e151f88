#pragma once
// Static files of the public listener (`server.static_dir`): the PWA's app shell and
// assets, answered for GET and HEAD of paths the API does not own (the router's fallback;
// nothing under /v1/ is ever a file).
//
// What a request may reach: a regular file inside the directory, named by the path's
// segments after percent-decoding each one. A segment that decodes to "." or "..", holds
// a '/', '\\' or NUL (an encoded slash), is empty inside the path, or starts with '.'
// (hidden files) is refused before the file system is asked; the path then resolved with
// its symlinks followed (std::filesystem::canonical) must still lie inside the directory's
// own canonical path, so a symlink pointing out of it is refused too. A directory answers
// with its index.html.
//
// Answers: Content-Type by extension; Cache-Control "no-cache" (revalidate every time: the
// ETag makes it a 304) for HTML, the web app manifest, the service worker and any file
// without a content hash, and "public, max-age=31536000, immutable" for content-hashed
// names (`app-5JQKZ2QX.js`: see is_content_hashed); a strong ETag (a hash of the bytes)
// with If-None-Match -> 304; gzip when the client accepts it, from a precompressed
// `<file>.gz` next to the file when one at least as new exists (the app's build writes
// them), else compressed once when the file is loaded. Vary: Accept-Encoding.
//
// Files are read into memory on first use and kept while their size and modification time
// stay the same (a rebuilt app is served at once, without a restart); a file over
// max_file_bytes is refused (the directory holds an app shell, not downloads). Reads are
// blocking, on the calling executor: app shells are a few hundred KiB from the page cache.
//
// Concurrency contract: serve() may run on any session's executor at the same time; the
// cache behind it is guarded by a mutex.

#include "server/net/http_types.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

// The decoded segments of a request path (the target without its query), or nullopt when
// a segment is malformed or refused (see above). "/" is no segments; a trailing slash
// adds nothing.
std::optional<std::vector<std::string>> static_path_segments(std::string_view raw_path);

// The media type of a file name, by its extension (application/octet-stream if unknown).
std::string_view static_content_type(std::string_view filename);

// Whether a file name carries a content hash: the last `-` or `.`-separated part of its
// stem is 8 to 64 ASCII letters and digits, with at least one digit or capital letter
// (esbuild's `[name]-[hash]` is 8 capitals and digits; vite's is mixed base64url), and it
// is not HTML. "app-5JQKZ2QX.js" is; "manifest.webmanifest" and "icon-192.png" are not.
bool is_content_hashed(std::string_view filename);

// The Cache-Control of a file name (see above).
std::string_view static_cache_control(std::string_view filename);

class static_files {
 public:
  static constexpr std::uintmax_t max_file_bytes = 32 * 1024 * 1024;
  static constexpr std::size_t max_cache_bytes = 128 * 1024 * 1024;

  // Throws std::runtime_error when `root` is not a readable directory.
  explicit static_files(const std::filesystem::path& root);

  const std::filesystem::path& root() const noexcept { return root_; }

  // The answer to a GET or HEAD of `path` (the target without its query string): 200, 304,
  // or a JSON error (404 not_found, 400 bad_request for a malformed escape).
  http_response serve(const http_request& req, std::string_view path) const;

 private:
  struct entry {
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
    std::filesystem::file_time_type gz_mtime{};  // of the precompressed file, if one was used
    std::string body;
    std::string gzipped;  // empty: served uncompressed
    std::string etag;
  };

  struct resolved {
    std::filesystem::path file;  // canonical, inside the root
    bool index = false;          // a directory's index.html
  };
  std::optional<resolved> resolve(const std::vector<std::string>& segments) const;
  std::shared_ptr<const entry> load(const std::filesystem::path& file) const;

  std::filesystem::path root_;  // canonical
  mutable std::mutex mutex_;
  mutable std::map<std::filesystem::path, std::shared_ptr<const entry>> cache_;
  mutable std::size_t cached_bytes_ = 0;
};

}  // namespace fieldsync::server
