#pragma once
// A fieldsync.v1 client for e2e tests that keeps, per subscription, the rows it was sent
// and checks the protocol's promises on every message:
//   - snapshot batches come before any change, rows once each;
//   - change cursors strictly increase (commit order, no duplicate);
//   - an insert is for a key the client does not hold; an update and a delete for one it
//     holds; an update's `seq` (when the rows have one) is the held copy's seq + 1 (no gap);
//   - every row sent satisfies the caller's `row_allowed` (tenant isolation).
// A session the server closes for a full send queue (4008, the client read too slowly) is
// reopened and every subscription resumed from its cursor, as the protocol asks of clients;
// the checks go on across the reconnect.
// Violations are collected, not asserted, so clients can run on threads of their own; the
// test thread checks errors() afterwards.

#include "tests/support/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::test {

struct sync_view {
  std::map<std::string, boost::json::object> rows;  // by key
  std::optional<std::string> cursor;                // of the last message that had one
  bool up_to_date = false;
  bool snapshot_done = false;
  std::size_t snapshot_rows = 0;
  std::size_t changes = 0;
  std::size_t changes_since_reset = 0;  // a snapshot may follow a reset, never a change
  std::size_t resets = 0;
  std::vector<std::string> reset_reasons;  // each reset's `reason`, in arrival order
  std::vector<std::string> keys_changed;  // in arrival order
  std::map<std::string, boost::json::object> origins;  // key -> origin of its last change
};

class sync_client {
 public:
  // Connects and says hello with `token` (skipped when empty); waits for welcome.
  sync_client(std::uint16_t port, const std::string& token,
              const std::string& client_id = "test-client", const headers& extra = {});

  void subscribe(const std::string& id, const std::string& collection,
                 const std::string& where = "",
                 const std::optional<std::string>& cursor = std::nullopt);
  void unsubscribe(const std::string& id);
  // Subscribes `id` again as it was: from its cursor, or with a fresh snapshot when it has
  // none (after a reset, or an error that ended it).
  void resubscribe(const std::string& id);
  // Opens a new session on `port` (a restarted server, another node) and resumes every
  // subscription from its cursor; the views and their checks carry on. False (and an
  // error recorded) when it cannot connect.
  bool reconnect_to(std::uint16_t port);
  // The same, but a failed attempt (a node going down behind a load balancer, none up yet)
  // is not recorded as an error: false, and the caller tries again.
  bool try_reconnect_to(std::uint16_t port);

  // Reads and applies messages until `done()` holds; false on timeout or close.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(120));
  // Reads one message (applied); nullopt on close or timeout.
  std::optional<boost::json::object> next(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  sync_view& view(const std::string& id) { return views_[id]; }
  const std::vector<std::string>& errors() const { return errors_; }
  std::vector<boost::json::object>& protocol_errors() { return protocol_errors_; }
  ws_client& raw() { return *ws_; }
  bool closed() const { return closed_; }
  std::size_t reconnects() const { return reconnects_; }

  // Called with (subscription id, row) for every row the server sends; false is recorded
  // as an error (a row outside the client's scope).
  std::function<bool(const std::string&, const boost::json::object&)> row_allowed;
  // The column whose value grows by one with every update ("" to skip that check).
  std::string seq_column = "seq";
  // Reopen the session after a 4008 close (see above).
  bool reconnect_on_overflow = true;

 private:
  void apply(const boost::json::object& m);
  void error(std::string e);
  void hello();
  void send_subscribe(const std::string& id);
  bool reconnect(bool record_failure = true);

  struct spec {
    std::string collection;
    std::string where;
  };
  std::uint16_t port_;
  std::string token_;
  std::string client_id_;
  headers extra_;
  std::unique_ptr<ws_client> ws_;
  std::map<std::string, spec> specs_;
  std::size_t reconnects_ = 0;
  std::map<std::string, sync_view> views_;
  std::vector<std::string> errors_;
  std::vector<boost::json::object> protocol_errors_;
  bool closed_ = false;
};

}  // namespace fieldsync::test
