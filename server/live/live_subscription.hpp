#pragma once
// One client subscription, as the session that made it and the fan-out hub share it.
//
// Concurrency contract: the members above the line are set by the session before it hands
// the subscription to the hub and never change afterwards (any thread may read them); the
// members below it belong to the hub's strand.

#include "protocol/cursor.hpp"
#include "server/access/collection_registry.hpp"
#include "server/live/subscription_filter.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace fieldsync::server {

class ws_session;
struct hub_peer;

struct live_subscription {
  boost::json::value id;                    // the client's "id" of the subscription
  std::shared_ptr<const std::string> head;  // sync_messages::change_head(id)
  const collection_access* collection = nullptr;
  subscription_filter filter;
  std::optional<index_constraint> constraint;
  std::optional<protocol::cursor> start_cursor;  // the client's cursor, if it sent one
  std::weak_ptr<ws_session> session;
  std::uint64_t session_id = 0;
  std::string user;  // the token's subject: starts are shared out fairly by it

  // ---- the hub's strand only ----
  enum class phase { starting, live, ended };
  phase state = phase::starting;
  // The position of the last change this subscription has been judged on (delivered or
  // not): live delivery skips changes at or before it.
  protocol::cursor position;
  std::uint64_t generation = 0;   // bumped to abandon the task that is starting it
  // The log epoch its starting task works in, once the task has read the log (0 before):
  // a task that already reset its client for an epoch the hub has not followed the log
  // into yet is not restarted (and its client not reset a second time) when the hub does.
  std::int64_t start_epoch = 0;
  std::uint64_t index_stamp = 0;  // subscription_index's de-duplication
  hub_peer* peer = nullptr;
};

}  // namespace fieldsync::server
