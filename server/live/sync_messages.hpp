#pragma once
// The texts of the fieldsync.v1 messages the server sends for subscriptions
// (docs/protocol.md is the reference): changes, snapshot batches, up-to-date, reset,
// unsubscribed.
//
// A change is encoded once and shared by every subscription it goes to: the
// subscription-specific head `{"type":"change","id":<id>,` is made once per subscription,
// and the body `"op":...}` once per change and delivery kind; the session writes the two
// back to back as one WebSocket message.
//
// Pure: no I/O; any thread.

#include "protocol/change.hpp"
#include "protocol/cursor.hpp"
#include "server/live/subscription_filter.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server::sync_messages {

// `{"type":"change","id":<id>,`
std::string change_head(const boost::json::value& subscription_id);

// `"op":"update","collection":...,"key":...,"row":{...},"version":"0/16B3F28","cursor":"...",
// "origin":{...}}`. A delete carries of the row only `delete_columns` (the key and the
// scope's columns, from the row before the change): nothing a subscriber could not see.
std::string change_body(const protocol::row_change& change, delivery d, protocol::lsn version,
                        const protocol::cursor& after,
                        const std::vector<std::string>& delete_columns);

// A snapshot batch, built row by row from the stored JSON texts.
class snapshot_batch {
 public:
  explicit snapshot_batch(const boost::json::value& subscription_id);
  void add_row(std::string_view key, protocol::lsn version, std::string_view row_json);
  std::size_t rows() const noexcept { return rows_; }
  std::size_t bytes() const noexcept { return text_.size(); }
  // The message; the last batch carries the cursor the changes continue from.
  std::string finish(bool last, const protocol::cursor& continue_from);

 private:
  std::string text_;
  std::size_t rows_ = 0;
};

std::string up_to_date(const boost::json::value& subscription_id, const protocol::cursor& c);
std::string reset(const boost::json::value& subscription_id, std::string_view reason,
                  std::string_view message);
std::string unsubscribed(const boost::json::value& subscription_id);

}  // namespace fieldsync::server::sync_messages
