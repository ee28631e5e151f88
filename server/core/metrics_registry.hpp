#pragma once
// The process's Prometheus metrics (text exposition format 0.0.4, served on the admin
// listener's /metrics). Deliberately small: counters, gauges and histograms with fixed
// buckets, each series registered once at start-up under its full name (labels, if any,
// are part of the registration: add_counter("x_total", "...", "reason=\"epoch\"")).
// Adding a metric is one add_* call; docs/protocol.md lists them.
//
// Concurrency contract: registration happens before the listeners accept (not
// thread-safe); updates are lock-free atomics and may come from any thread; render() may
// run concurrently with updates (each value is read atomically, the set as a whole is not
// a consistent snapshot, which Prometheus does not need).

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

class metric_counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class metric_gauge {
 public:
  void add(std::int64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations in seconds against fixed upper bounds (the +Inf bucket is implicit).
class metric_histogram {
 public:
  static constexpr std::size_t max_buckets = 24;

  explicit metric_histogram(std::vector<double> bounds);
  void observe(double seconds) noexcept;

  const std::vector<double>& bounds() const noexcept { return bounds_; }
  std::uint64_t bucket(std::size_t i) const noexcept {  // cumulative is computed by render
    return counts_[i].load(std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept;

 private:
  std::vector<double> bounds_;  // ascending, at most max_buckets
  std::array<std::atomic<std::uint64_t>, max_buckets + 1> counts_{};  // last: above every bound
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};  // the sum in microseconds, kept integral
};

class metrics_registry {
 public:
  // `name` follows Prometheus naming (fieldsync_..., counters end in _total); `labels` is
  // the inside of {...} or empty. Series of one name share its HELP and TYPE lines.
  metric_counter& add_counter(std::string name, std::string help, std::string labels = {});
  metric_gauge& add_gauge(std::string name, std::string help, std::string labels = {});
  metric_histogram& add_histogram(std::string name, std::string help, std::vector<double> bounds);

  // Everything, in registration order, as Prometheus text.
  std::string render() const;

 private:
  enum class kind { counter, gauge, histogram };
  struct series {
    kind k;
    std::string name;
    std::string help;
    std::string labels;
    metric_counter* counter = nullptr;
    metric_gauge* gauge = nullptr;
    metric_histogram* histogram = nullptr;
  };
  // Deques: the metrics never move, so the references handed out stay valid.
  std::deque<metric_counter> counters_;
  std::deque<metric_gauge> gauges_;
  std::deque<std::unique_ptr<metric_histogram>> histograms_;
  std::vector<series> series_;
};

}  // namespace fieldsync::server
