#include "tests/support/sync_client.hpp"

#include "protocol/cursor.hpp"
#include "protocol/json_parse.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace fieldsync::test {

namespace json = boost::json;

sync_client::sync_client(std::uint16_t port, const std::string& token, const std::string& client_id,
                         const headers& extra)
    : port_(port),
      token_(token),
      client_id_(client_id),
      extra_(extra),
      ws_(std::make_unique<ws_client>(port, "/v1/ws", "fieldsync.v1", extra)) {
  if (!token.empty()) hello();
}

void sync_client::hello() {
  ws_->send(json::serialize(json::object{
      {"type", "hello"}, {"token", token_}, {"client_id", client_id_}, {"protocol", 1}}));
  auto m = next();
  if (!m || m->at("type") != "welcome") {
    throw std::runtime_error(
        "no welcome: " + (m ? json::serialize(*m) : "closed " + std::to_string(ws_->close_code())));
  }
}

void sync_client::subscribe(const std::string& id, const std::string& collection,
                            const std::string& where, const std::optional<std::string>& cursor) {
  specs_[id] = {collection, where};
  auto& v = views_[id];
  // The position this client holds from now on: a resubscribe or reconnect resumes there.
  if (cursor && !v.cursor) v.cursor = *cursor;
  json::object m{{"type", "subscribe"}, {"id", id}, {"collection", collection}};
  if (!where.empty()) m["where"] = where;
  if (cursor) m["cursor"] = *cursor;
  ws_->send(json::serialize(m));
}

void sync_client::resubscribe(const std::string& id) {
  send_subscribe(id);
}

bool sync_client::reconnect_to(std::uint16_t port) {
  port_ = port;
  return reconnect();
}

void sync_client::send_subscribe(const std::string& id) {
  auto& v = views_[id];
  if (!v.cursor) {
    // Nothing resumable yet: start over with a snapshot.
    v.rows.clear();
    v.snapshot_done = v.up_to_date = false;
    v.changes_since_reset = 0;
  }
  v.up_to_date = false;
  const auto& sp = specs_.at(id);
  subscribe(id, sp.collection, sp.where, v.cursor);
}

bool sync_client::try_reconnect_to(std::uint16_t port) {
  port_ = port;
  return reconnect(false);
}

bool sync_client::reconnect(bool record_failure) {
  try {
    ws_ = std::make_unique<ws_client>(port_, "/v1/ws", "fieldsync.v1", extra_);
    closed_ = false;
    hello();
  } catch (const std::exception& e) {
    closed_ = true;
    if (record_failure) error(std::string("reconnect failed: ") + e.what());
    return false;
  }
  ++reconnects_;
  for (const auto& [id, sp] : specs_) send_subscribe(id);
  return true;
}

void sync_client::unsubscribe(const std::string& id) {
  specs_.erase(id);
  ws_->send(json::serialize(json::object{{"type", "unsubscribe"}, {"id", id}}));
}

std::optional<json::object> sync_client::next(std::chrono::milliseconds timeout) {
  if (closed_) return std::nullopt;
  std::optional<std::string> text;
  for (;;) {
    try {
      text = ws_->receive(timeout);
    } catch (const std::runtime_error&) {
      return std::nullopt;  // timed out
    }
    if (text) break;
    closed_ = true;
    // A slow reader is cut off at its queue's limit; it resumes from its cursors.
    if (ws_->close_code() != 4008 || !reconnect_on_overflow || token_.empty() || !reconnect())
      return std::nullopt;
  }
  auto parsed = protocol::parse_json_exact(*text, 256);
  json::value v = parsed ? std::move(*parsed) : json::value();
  if (!v.is_object()) {
    error("not a JSON object: " + text->substr(0, 200));
    return std::nullopt;
  }
  apply(v.as_object());
  return std::move(v.as_object());
}

bool sync_client::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!next(left)) return done();
  }
  return true;
}

void sync_client::error(std::string e) {
  if (errors_.size() < 50) errors_.push_back(std::move(e));
}

void sync_client::apply(const json::object& m) {
  const auto type = m.at("type").as_string();
  if (type == "welcome" || type == "pong" || type == "unsubscribed" || type == "push_result") return;
  if (type == "error") {
    protocol_errors_.push_back(m);
    return;
  }
  const std::string id =
      m.contains("id") && m.at("id").is_string() ? std::string(m.at("id").as_string()) : "";
  auto& v = views_[id];
  auto check_row = [&](const json::object& row) {
    if (row_allowed && !row_allowed(id, row))
      error(id + ": a row outside the scope: " + json::serialize(row));
  };
  auto advance = [&](const json::value& c, bool strictly) {
    auto next_cursor = protocol::cursor::parse(c.as_string());
    if (!next_cursor) return error(id + ": bad cursor " + json::serialize(c));
    if (v.cursor) {
      auto prev = protocol::cursor::parse(*v.cursor);
      if (strictly ? !(*prev < *next_cursor) : (*next_cursor < *prev)) {
        error(id + ": cursor went from " + *v.cursor + " to " + std::string(c.as_string()));
      }
    }
    v.cursor = std::string(c.as_string());
  };
  if (type == "reset") {
    ++v.resets;
    const auto* reason = m.if_contains("reason");
    v.reset_reasons.emplace_back(reason && reason->is_string() ? reason->get_string() : "");
    v.rows.clear();
    v.cursor.reset();
    v.snapshot_done = v.up_to_date = false;
    v.changes_since_reset = 0;
    return;
  }
  if (type == "snapshot") {
    if (v.snapshot_done || v.changes_since_reset > 0)
      error(id + ": snapshot after snapshot end or changes");
    for (const auto& r : m.at("rows").as_array()) {
      const auto& o = r.as_object();
      std::string key(o.at("key").as_string());
      check_row(o.at("row").as_object());
      if (!v.rows.emplace(key, o.at("row").as_object()).second)
        error(id + ": snapshot row twice: " + key);
      ++v.snapshot_rows;
    }
    if (m.at("last").as_bool()) {
      v.snapshot_done = true;
      advance(m.at("cursor"), false);
    }
    return;
  }
  if (type == "up-to-date") {
    v.up_to_date = true;
    advance(m.at("cursor"), false);
    return;
  }
  if (type != "change") return error("unexpected message " + json::serialize(m).substr(0, 200));
  ++v.changes;
  ++v.changes_since_reset;
  advance(m.at("cursor"), true);
  const std::string key(m.at("key").as_string());
  const auto op = m.at("op").as_string();
  const auto& row = m.at("row").as_object();
  check_row(row);
  v.keys_changed.push_back(key);
  if (const auto* origin = m.if_contains("origin"); origin && origin->is_object())
    v.origins[key] = origin->as_object();
  else
    v.origins.erase(key);
  auto held = v.rows.find(key);
  if (op == "insert") {
    if (held != v.rows.end()) error(id + ": insert of a key held already: " + key);
    v.rows[key] = row;
  } else if (op == "update") {
    if (held == v.rows.end()) return error(id + ": update of a key not held (a gap): " + key);
    if (!seq_column.empty() && row.contains(seq_column) && held->second.contains(seq_column) &&
        row.at(seq_column).to_number<std::int64_t>() !=
            held->second.at(seq_column).to_number<std::int64_t>() + 1) {
      error(id + ": update of " + key + " from seq " +
            json::serialize(held->second.at(seq_column)) + " to " +
            json::serialize(row.at(seq_column)) + " (a gap or a duplicate)");
    }
    held->second = row;
  } else if (op == "delete") {
    if (held == v.rows.end()) return error(id + ": delete of a key not held: " + key);
    v.rows.erase(held);
  } else {
    error(id + ": unknown op " + std::string(op));
  }
}

}  // namespace fieldsync::test
