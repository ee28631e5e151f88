#include "server/net/ws_metrics.hpp"

namespace fieldsync::server {

ws_metrics ws_metrics::create(metrics_registry& r) {
  ws_metrics m;
  m.sessions = &r.add_gauge("fieldsync_ws_sessions", "Open WebSocket sessions (fieldsync.v1).");
  m.authenticated = &r.add_gauge("fieldsync_ws_sessions_authenticated",
                                 "Open WebSocket sessions that have authenticated.");
  m.subscriptions = &r.add_gauge("fieldsync_ws_subscriptions", "Active subscriptions.");
  m.messages_sent =
      &r.add_counter("fieldsync_ws_messages_sent_total", "Messages written to clients (each message of a batch counts).");
  m.bytes_sent = &r.add_counter(
      "fieldsync_ws_bytes_sent_total",
      "Payload bytes of WebSocket messages written to clients (before compression).");
  m.queue_overflows =
      &r.add_counter("fieldsync_ws_queue_overflows_total",
                     "Sessions closed with 4008 because their send queue overflowed.");
  m.resets = &r.add_counter(
      "fieldsync_ws_resets_total",
      "reset messages sent (cursor of another epoch, beyond retention, before the load).");
  m.resumes = &r.add_counter(
      "fieldsync_ws_resumes_total",
      "Subscriptions started from a cursor: clients that reconnected and resumed where they were.");
  m.auth_failures = &r.add_counter("fieldsync_ws_auth_failures_total",
                                   "WebSocket authentications refused (bad token, timeout).");
  m.origin_refusals = &r.add_counter("fieldsync_ws_origin_refusals_total",
                                     "WebSocket upgrades refused with 403 for their Origin.");
  m.changes_read =
      &r.add_counter("fieldsync_fanout_changes_read_total",
                     "Change log entries the fan-out hub read (once per node, not per client).");
  m.hub_reads =
      &r.add_counter("fieldsync_fanout_log_reads_total", "Change log reads of the fan-out hub.");
  m.commit_to_enqueue =
      &r.add_histogram("fieldsync_fanout_commit_to_enqueue_seconds",
                       "From a change's commit in the source database to its message entering a "
                       "session's send queue.",
                       {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  return m;
}

}  // namespace fieldsync::server
