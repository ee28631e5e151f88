#include "server/core/metrics_registry.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::server;

TEST_CASE("metrics render as Prometheus text", "[metrics]") {
  metrics_registry r;
  auto& c = r.add_counter("fs_things_total", "Things.");
  auto& g = r.add_gauge("fs_open", "Open ones.");
  auto& red = r.add_counter("fs_resets_total", "Resets.", "reason=\"epoch\"");
  auto& blue = r.add_counter("fs_resets_total", "Resets.", "reason=\"horizon\"");
  auto& h = r.add_histogram("fs_latency_seconds", "Latency.", {0.01, 0.1, 1});
  c.add(3);
  g.add(5);
  g.sub(2);
  red.add();
  blue.add(2);
  h.observe(0.005);
  h.observe(0.05);
  h.observe(0.05);
  h.observe(7);
  auto text = r.render();
  CHECK_THAT(
      text,
      Catch::Contains(
          "# HELP fs_things_total Things.\n# TYPE fs_things_total counter\nfs_things_total 3\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE fs_open gauge\nfs_open 3\n"));
  CHECK_THAT(text,
             Catch::Contains(
                 "fs_resets_total{reason=\"epoch\"} 1\nfs_resets_total{reason=\"horizon\"} 2\n"));
  // One HELP/TYPE per name.
  CHECK(text.find("# TYPE fs_resets_total") == text.rfind("# TYPE fs_resets_total"));
  CHECK_THAT(text, Catch::Contains("fs_latency_seconds_bucket{le=\"0.01\"} 1\n"
                                   "fs_latency_seconds_bucket{le=\"0.1\"} 3\n"
                                   "fs_latency_seconds_bucket{le=\"1\"} 3\n"
                                   "fs_latency_seconds_bucket{le=\"+Inf\"} 4\n"));
  CHECK_THAT(text, Catch::Contains("fs_latency_seconds_count 4\n"));
  CHECK_THAT(text, Catch::Contains("fs_latency_seconds_sum 7.105\n"));
}
