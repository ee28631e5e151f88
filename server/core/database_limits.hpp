#pragma once
// The [database] limits of the config as the storage layer takes them: the session limits
// of every connection fieldsync opens, and the options of its LISTEN connections.

#include "server/core/config.hpp"
#include "storage/log_listener.hpp"
#include "storage/pg_connection.hpp"

#include <chrono>

namespace fieldsync::server {

inline storage::pg_session_limits session_limits(const database_config& db) {
  storage::pg_session_limits l;
  l.operation_timeout = db.query_timeout;
  l.lock_timeout = db.lock_timeout;
  l.idle_in_transaction_timeout = db.idle_in_transaction_timeout;
  return l;
}

inline storage::log_listener_options listener_options(const database_config& db) {
  storage::log_listener_options o;
  o.connect_timeout = db.connect_timeout;
  o.check_interval = db.listen_check_interval;
  o.session = session_limits(db);
  return o;
}

}  // namespace fieldsync::server
