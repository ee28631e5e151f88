#pragma once
// Live subscriptions over the fieldsync.v1 WebSocket (docs/protocol.md, "Subscriptions"):
// authentication (hello, or Authorization on the upgrade), the session limits, and the
// messages hello, subscribe and unsubscribe, which hand subscriptions to the fan-out hub.
//
// Concurrency contract: one instance per process, shared by every session; its hooks and
// handlers run on the calling session's strand and keep their per-session state in the
// session's sync_session. The per-user session counts are the only shared mutable state
// (a mutex; touched on authentication and close only).

#include "protocol/filter/filter_limits.hpp"
#include "server/access/authenticator.hpp"
#include "server/access/collection_registry.hpp"
#include "server/live/fanout_hub.hpp"
#include "server/live/sync_session.hpp"
#include "server/net/ws_protocol.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fieldsync::server {

inline constexpr int sync_protocol_version = 1;

struct live_sync_options {
  std::chrono::milliseconds auth_timeout{10'000};
  std::size_t max_subscriptions_per_session = 100;
  std::size_t max_sessions_per_user = 20;
  std::chrono::milliseconds token_leeway{30'000};  // an open socket closes this long after exp
  protocol::filter_limits filter_limits;
};

class live_sync final : public ws_lifecycle, public std::enable_shared_from_this<live_sync> {
 public:
  live_sync(const authenticator& auth, const collection_registry& collections,
            std::shared_ptr<fanout_hub> hub, live_sync_options options, ws_metrics* metrics);

  // Adds hello, subscribe and unsubscribe to the message table, and this as its lifecycle.
  void install(ws_protocol& protocol);

  std::optional<http_response> on_upgrade(ws_session& session, const http_request& req) override;
  void on_open(ws_session& session) override;
  void on_close(ws_session& session) override;
  // Subject, client id, subscriptions and waiting pushes, for GET /admin/v1/clients.
  void describe(ws_session& session, boost::json::object& out) override;

 private:
  void hello(ws_session& session, const boost::json::object& msg);
  void subscribe(ws_session& session, const boost::json::object& msg);
  void unsubscribe(ws_session& session, const boost::json::object& msg);

  // Counts the session against its user's limit; false when over it.
  bool admit(sync_session& state, const principal& who);
  void release(sync_session& state);
  void arm_expiry(ws_session& session, sync_session& state);
  void send_welcome(ws_session& session, const sync_session& state);

  const authenticator& auth_;
  const collection_registry& collections_;
  std::shared_ptr<fanout_hub> hub_;
  live_sync_options options_;
  ws_metrics* metrics_;
  std::mutex users_mutex_;
  std::unordered_map<std::string, std::size_t> users_;
};

}  // namespace fieldsync::server
