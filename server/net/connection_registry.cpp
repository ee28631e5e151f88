#include "server/net/connection_registry.hpp"

namespace fieldsync::server {

std::uint64_t connection_registry::add(const std::shared_ptr<connection>& c) {
  std::lock_guard lock(mutex_);
  auto id = next_id_++;
  connections_.emplace(id, c);
  return id;
}

void connection_registry::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  connections_.erase(id);
}

std::size_t connection_registry::size() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

std::size_t connection_registry::count(std::string_view kind) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, weak] : connections_) {
    if (auto c = weak.lock(); c && c->kind() == kind) ++n;
  }
  return n;
}

std::vector<std::pair<std::uint64_t, std::shared_ptr<connection>>> connection_registry::list(
    std::string_view kind, std::uint64_t after, std::size_t limit) const {
  std::vector<std::pair<std::uint64_t, std::shared_ptr<connection>>> out;
  std::lock_guard lock(mutex_);
  for (auto it = connections_.upper_bound(after); it != connections_.end() && out.size() < limit;
       ++it) {
    if (auto c = it->second.lock(); c && c->kind() == kind)
      out.emplace_back(it->first, std::move(c));
  }
  return out;
}

std::shared_ptr<connection> connection_registry::find(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.lock();
}

void connection_registry::shutdown_all() {
  std::vector<std::shared_ptr<connection>> live;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, weak] : connections_) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  // Outside the lock: shutdown() may end a session, which unregisters itself.
  for (auto& c : live) c->shutdown();
}

}  // namespace fieldsync::server
