#pragma once
// The live connections of the process, so that shutdown can close them all and the
// admin API can count and list them.
//
// Concurrency contract: every member is thread-safe (a mutex guards the table; it is
// touched on connect and disconnect only, never per message). shutdown() on a
// connection must itself be thread-safe: implementations post to their own executor.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::server {

class connection {
 public:
  virtual ~connection() = default;
  virtual std::string_view kind() const noexcept = 0;  // "http" or "websocket"
  // Ends the connection gracefully (an HTTP connection after its current answer, a
  // WebSocket with close code 1001 going away).
  virtual void shutdown() = 0;
};

class connection_registry {
 public:
  std::uint64_t add(const std::shared_ptr<connection>& c);
  void remove(std::uint64_t id);
  std::size_t size() const;
  std::size_t count(std::string_view kind) const;
  // The live connections of `kind` with an id above `after`, in id order, at most `limit`.
  std::vector<std::pair<std::uint64_t, std::shared_ptr<connection>>> list(std::string_view kind,
                                                                          std::uint64_t after,
                                                                          std::size_t limit) const;
  // The connection with this id, or null when it is gone.
  std::shared_ptr<connection> find(std::uint64_t id) const;
  void shutdown_all();

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::weak_ptr<connection>> connections_;
};

// Registers on attach(), unregisters on destruction: a session holds one for its life.
class registration {
 public:
  registration() = default;
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
  ~registration() {
    if (registry_) registry_->remove(id_);
  }

  // Called once, when the session's shared_ptr exists.
  void attach(connection_registry& r, const std::shared_ptr<connection>& c) {
    registry_ = &r;
    id_ = r.add(c);
  }
  // Unregisters early, for a session that hands its socket over to another.
  void detach() {
    if (registry_) registry_->remove(id_);
    registry_ = nullptr;
  }
  std::uint64_t id() const noexcept { return id_; }

 private:
  connection_registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

}  // namespace fieldsync::server
