#include "server/live/sync_messages.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace fieldsync::server::sync_messages {

namespace json = boost::json;

namespace {

void append_string(std::string& out, std::string_view s) {
  out += json::serialize(json::string_view(s.data(), s.size()));
}

}  // namespace

std::string change_head(const json::value& subscription_id) {
  return "{\"type\":\"change\",\"id\":" + json::serialize(subscription_id) + ",";
}

std::string change_body(const protocol::row_change& change, delivery d, protocol::lsn version,
                        const protocol::cursor& after,
                        const std::vector<std::string>& delete_columns) {
  std::string out;
  out.reserve(256);
  out += "\"op\":\"";
  out += to_string(d);
  out += "\",\"collection\":";
  append_string(out, change.collection);
  out += ",\"key\":";
  append_string(out, change.key);
  out += ",\"row\":";
  if (d == delivery::remove) {
    // The row before the change: a logged delete's row, an update's old row.
    const json::object& before =
        change.op == protocol::change_op::update && change.old_row ? *change.old_row : change.row;
    json::object slim;
    for (const auto& column : delete_columns) {
      if (const auto* v = before.if_contains(column)) slim[column] = *v;
    }
    out += json::serialize(slim);
  } else {
    out += json::serialize(change.row);
  }
  out += ",\"version\":\"";
  out += version.to_string();
  out += "\",\"cursor\":\"";
  out += after.to_string();
  out += "\"";
  if (change.origin) {
    json::object origin{{"client_id", change.origin->client_id},
                        {"mutation_id", change.origin->mutation_id}};
    if (!change.origin->client_ts.empty()) origin["client_ts"] = change.origin->client_ts;
    out += ",\"origin\":";
    out += json::serialize(origin);
  }
  out += "}";
  return out;
}

snapshot_batch::snapshot_batch(const json::value& subscription_id) {
  text_ = "{\"type\":\"snapshot\",\"id\":" + json::serialize(subscription_id) + ",\"rows\":[";
}

void snapshot_batch::add_row(std::string_view key, protocol::lsn version,
                             std::string_view row_json) {
  if (rows_++ > 0) text_ += ",";
  text_ += "{\"key\":";
  append_string(text_, key);
  text_ += ",\"version\":\"";
  text_ += version.to_string();
  text_ += "\",\"row\":";
  text_ += row_json;  // stored by the change log as JSON; embedded as is
  text_ += "}";
}

std::string snapshot_batch::finish(bool last, const protocol::cursor& continue_from) {
  text_ += "],\"last\":";
  text_ += last ? "true" : "false";
  if (last) {
    text_ += ",\"cursor\":\"";
    text_ += continue_from.to_string();
    text_ += "\"";
  }
  text_ += "}";
  return std::move(text_);
}

std::string up_to_date(const json::value& subscription_id, const protocol::cursor& c) {
  return json::serialize(
      json::object{{"type", "up-to-date"}, {"id", subscription_id}, {"cursor", c.to_string()}});
}

std::string reset(const json::value& subscription_id, std::string_view reason,
                  std::string_view message) {
  return json::serialize(json::object{
      {"type", "reset"}, {"id", subscription_id}, {"reason", reason}, {"message", message}});
}

std::string unsubscribed(const json::value& subscription_id) {
  return json::serialize(json::object{{"type", "unsubscribed"}, {"id", subscription_id}});
}

}  // namespace fieldsync::server::sync_messages
