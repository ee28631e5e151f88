#pragma once
// Recently computed pull answers, so that many clients asking the same question (the same
// collection, scope, filter, cursor and limit: a dashboard fleet polling with one cursor)
// cost one database read per change of the log instead of one each. An entry is valid
// while the log has not advanced since it was computed (log_watch::generation) and for at
// most `ttl` (the notification that would invalidate it may be late or lost while the
// listener reconnects). Bounded by bytes; least recently used entries go first.
//
// Serving a cached answer is never wrong even when the log moved meanwhile: it is the
// answer as of an earlier instant, with the cursor to continue from. Across an epoch it
// would be: pull_service keys every entry by the epoch it reads as committed.
//
// Concurrency contract: lives on the app's io_context; not thread-safe.

#include "server/net/http_body.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

namespace fieldsync::server {

class response_cache {
 public:
  response_cache(std::size_t max_bytes, std::chrono::milliseconds ttl)
      : max_bytes_(max_bytes), ttl_(ttl) {}

  std::shared_ptr<const prepared_body> find(const std::string& key, std::uint64_t generation,
                                            std::chrono::steady_clock::time_point now);
  // The entry of this generation however old: while one request recomputes an answer
  // whose ttl ran out, the others are served the previous one rather than wait.
  std::shared_ptr<const prepared_body> find_stale(const std::string& key, std::uint64_t generation);
  void put(const std::string& key, std::uint64_t generation,
           std::chrono::steady_clock::time_point now, std::shared_ptr<const prepared_body> body);

  std::size_t bytes() const noexcept { return bytes_; }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    std::string key;
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point at;
    std::shared_ptr<const prepared_body> body;
    std::size_t bytes = 0;
  };
  void erase(std::list<entry>::iterator it);

  std::size_t max_bytes_;
  std::chrono::milliseconds ttl_;
  std::size_t bytes_ = 0;
  std::list<entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<entry>::iterator> entries_;
};

}  // namespace fieldsync::server
