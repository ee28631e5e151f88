#include "server/pull/response_cache.hpp"

namespace fieldsync::server {

void response_cache::erase(std::list<entry>::iterator it) {
  bytes_ -= it->bytes;
  entries_.erase(it->key);
  lru_.erase(it);
}

std::shared_ptr<const prepared_body> response_cache::find(
    const std::string& key, std::uint64_t generation, std::chrono::steady_clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  auto e = it->second;
  if (e->generation != generation) {
    erase(e);
    return nullptr;
  }
  if (now - e->at > ttl_) return nullptr;  // kept for find_stale until replaced
  lru_.splice(lru_.begin(), lru_, e);
  return e->body;
}

std::shared_ptr<const prepared_body> response_cache::find_stale(const std::string& key,
                                                                std::uint64_t generation) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second->generation != generation) return nullptr;
  return it->second->body;
}

void response_cache::put(const std::string& key, std::uint64_t generation,
                         std::chrono::steady_clock::time_point now,
                         std::shared_ptr<const prepared_body> body) {
  std::size_t bytes = key.size() * 2 + body->body.size() + body->gzipped.size() + 256;
  if (bytes > max_bytes_ / 4) return;  // one answer may not push out everything else
  if (auto it = entries_.find(key); it != entries_.end()) erase(it->second);
  while (bytes_ + bytes > max_bytes_ && !lru_.empty()) erase(std::prev(lru_.end()));
  lru_.push_front(entry{key, generation, now, std::move(body), bytes});
  entries_.emplace(key, lru_.begin());
  bytes_ += bytes;
}

}  // namespace fieldsync::server
