#pragma once
// The fieldsync.v1 state of one WebSocket session: who it is (from hello, or from the
// upgrade request's Authorization header), the client id it declared, and its
// subscriptions and pushes. Other message handlers read the principal and the client id
// from here: sync_session::of(session).
//
// Concurrency contract: it is the ws_session's context and lives on that session's strand;
// only code running there touches it.

#include "server/access/authenticator.hpp"
#include "server/live/live_subscription.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace fieldsync::server {

class ws_session;

struct sync_session {
  explicit sync_session(const boost::asio::any_io_executor& ex) : deadline(ex) {}

  std::optional<principal> who;  // set once authenticated
  std::string client_id;         // from hello; empty until then
  bool greeted = false;          // hello was answered
  std::string counted_user;      // the subject counted against max_sessions_per_user
  bool counted = false;
  // The hello deadline until authenticated, then the token's expiry.
  boost::asio::steady_timer deadline;
  // By the client's id of each, serialised (so that "1" and 1 are different ids).
  std::map<std::string, std::shared_ptr<live_subscription>> subscriptions;
  // Push messages waiting for the one being applied (ws_push.hpp), and whether one is.
  std::deque<boost::json::object> pushes;
  bool pushing = false;

  // The state of a fieldsync.v1 session, or null (a session no live_sync opened).
  static sync_session* of(ws_session& session) noexcept;
};

// The hub ended `sub` on its side (it failed): the session forgets it, so that its id can
// be used again. Runs on the session's strand.
void forget_subscription(ws_session& session, const std::shared_ptr<live_subscription>& sub);

}  // namespace fieldsync::server
