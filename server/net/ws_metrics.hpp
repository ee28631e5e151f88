#pragma once
// The metrics of the WebSocket sessions and the fan-out hub (docs/protocol.md, "Metrics").
// Registered once by the app; sessions and the hub hold a pointer and update them.
//
// Concurrency contract: as metrics_registry: updates from any thread.

#include "server/core/metrics_registry.hpp"

namespace fieldsync::server {

struct ws_metrics {
  metric_gauge* sessions = nullptr;       // open fieldsync.v1 sessions
  metric_gauge* authenticated = nullptr;  // of which authenticated
  metric_gauge* subscriptions = nullptr;
  metric_counter* messages_sent = nullptr;
  metric_counter* bytes_sent = nullptr;
  metric_counter* queue_overflows = nullptr;
  metric_counter* resets = nullptr;
  metric_counter* resumes = nullptr;  // subscriptions started from a cursor
  metric_counter* auth_failures = nullptr;
  metric_counter* origin_refusals = nullptr;
  metric_counter* changes_read = nullptr;  // log changes the hub read (once per node)
  metric_counter* hub_reads = nullptr;     // log reads of the hub
  metric_histogram* commit_to_enqueue = nullptr;

  static ws_metrics create(metrics_registry& r);
};

}  // namespace fieldsync::server
