#pragma once
// The number of connections one listener may hold open at once (server.max_connections for
// the public listener, server.admin_max_connections for the admin one). A slot is taken at
// accept and given back when the connection ends, whatever it became (an HTTP connection or
// the WebSocket it upgraded to). Each listener has its own budget, so a flood of the public
// port never takes the admin listener's connections: operators keep /healthz, /readyz,
// /metrics and the admin API.
//
// Concurrency contract: thread-safe (one atomic counter); a slot may be released on any
// thread.

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace fieldsync::server {

class connection_budget : public std::enable_shared_from_this<connection_budget> {
 public:
  // A connection's place in the budget, given back on destruction. Move-only.
  class slot {
   public:
    slot(slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    slot& operator=(slot&& other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot() { release(); }

   private:
    friend class connection_budget;
    explicit slot(std::shared_ptr<connection_budget> owner) : owner_(std::move(owner)) {}
    void release() noexcept {
      if (owner_) owner_->used_.fetch_sub(1, std::memory_order_relaxed);
      owner_ = nullptr;
    }
    std::shared_ptr<connection_budget> owner_;
  };

  explicit connection_budget(std::size_t max) : max_(max) {}

  // A slot, or nothing when `max` connections hold one.
  std::optional<slot> try_acquire() {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (used >= max_) return std::nullopt;
    } while (!used_.compare_exchange_weak(used, used + 1, std::memory_order_relaxed));
    return slot(shared_from_this());
  }

  std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::size_t max() const noexcept { return max_; }

 private:
  const std::size_t max_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace fieldsync::server
