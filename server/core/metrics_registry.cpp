#include "server/core/metrics_registry.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace fieldsync::server {

metric_histogram::metric_histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (bounds_.empty() || bounds_.size() > max_buckets ||
      !std::is_sorted(bounds_.begin(), bounds_.end())) {
    throw std::invalid_argument("histogram bounds: 1 to 24 ascending values");
  }
}

void metric_histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0)) seconds = 0;  // a clock step backwards, or NaN
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e6)),
                        std::memory_order_relaxed);
}

double metric_histogram::sum() const noexcept {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

metric_counter& metrics_registry::add_counter(std::string name, std::string help,
                                              std::string labels) {
  auto& c = counters_.emplace_back();
  series_.push_back(
      {kind::counter, std::move(name), std::move(help), std::move(labels), &c, nullptr, nullptr});
  return c;
}

metric_gauge& metrics_registry::add_gauge(std::string name, std::string help, std::string labels) {
  auto& g = gauges_.emplace_back();
  series_.push_back(
      {kind::gauge, std::move(name), std::move(help), std::move(labels), nullptr, &g, nullptr});
  return g;
}

metric_histogram& metrics_registry::add_histogram(std::string name, std::string help,
                                                  std::vector<double> bounds) {
  auto& h = *histograms_.emplace_back(std::make_unique<metric_histogram>(std::move(bounds)));
  series_.push_back({kind::histogram, std::move(name), std::move(help), {}, nullptr, nullptr, &h});
  return h;
}

std::string metrics_registry::render() const {
  std::string out;
  std::set<std::string_view> described;
  for (const auto& s : series_) {
    if (described.insert(s.name).second) {
      const char* type = s.k == kind::counter ? "counter"
                         : s.k == kind::gauge ? "gauge"
                                              : "histogram";
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", s.name, s.help, s.name, type);
    }
    std::string labels = s.labels.empty() ? std::string() : "{" + s.labels + "}";
    switch (s.k) {
      case kind::counter:
        out += fmt::format("{}{} {}\n", s.name, labels, s.counter->value());
        break;
      case kind::gauge:
        out += fmt::format("{}{} {}\n", s.name, labels, s.gauge->value());
        break;
      case kind::histogram: {
        const auto& h = *s.histogram;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.bounds().size(); ++i) {
          cumulative += h.bucket(i);
          out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", s.name, h.bounds()[i], cumulative);
        }
        cumulative += h.bucket(h.bounds().size());
        out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", s.name, cumulative);
        out += fmt::format("{}_sum {}\n{}_count {}\n", s.name, h.sum(), s.name, cumulative);
        break;
      }
    }
  }
  return out;
}

}  // namespace fieldsync::server
