#include "server/admin/cluster_view.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <random>

namespace fieldsync::server {

namespace json = boost::json;

bool node_is_down(std::chrono::milliseconds heartbeat_age, std::chrono::milliseconds interval) {
  return heartbeat_age > missed_heartbeats_down * interval;
}

std::string random_node_id() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (auto& c : out) {
    c = digits[v & 0xf];
    v >>= 4;
  }
  return out;
}

std::string to_string(const client_ref& r) { return r.node + ":" + std::to_string(r.id); }

std::optional<client_ref> parse_client_ref(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  client_ref r;
  r.node = std::string(text.substr(0, colon));
  auto digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), r.id);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
    return std::nullopt;
  return r;
}

std::string encode(const disconnect_order& o) {
  json::object out{{"op", "disconnect"}, {"from", o.from}};
  if (o.subject) out["subject"] = *o.subject;
  if (o.session) {
    out["node"] = o.session->node;
    out["id"] = o.session->id;
  }
  return json::serialize(out);
}

std::optional<disconnect_order> parse_disconnect_order(std::string_view payload) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* op = o.if_contains("op");
  const auto* from = o.if_contains("from");
  if (!op || !op->is_string() || op->get_string() != "disconnect") return std::nullopt;
  if (!from || !from->is_string()) return std::nullopt;
  disconnect_order out;
  out.from = std::string(from->get_string());
  if (const auto* s = o.if_contains("subject")) {
    if (!s->is_string() || s->get_string().empty()) return std::nullopt;
    out.subject = std::string(s->get_string());
  }
  const auto* node = o.if_contains("node");
  const auto* id = o.if_contains("id");
  if (node || id) {
    if (!node || !node->is_string() || !id) return std::nullopt;
    client_ref r;
    r.node = std::string(node->get_string());
    if (id->is_uint64()) {
      r.id = id->get_uint64();
    } else if (id->is_int64() && id->get_int64() >= 0) {
      r.id = static_cast<std::uint64_t>(id->get_int64());
    } else {
      return std::nullopt;
    }
    out.session = std::move(r);
  }
  // Exactly one of the two: an order that names neither would close nothing, one that names
  // both is not one this version sends.
  if (out.subject.has_value() == out.session.has_value()) return std::nullopt;
  return out;
}

bool order_concerns(const disconnect_order& o, std::string_view self) {
  if (o.session) return o.session->node == self;
  return o.from != self;
}

int leader_watch::observe(bool leader, std::chrono::system_clock::time_point since) noexcept {
  int changes = 0;
  if (leader != leader_) {
    changes = 1;
  } else if (leader && since != since_) {
    changes = 2;
  }
  leader_ = leader;
  since_ = since;
  return changes;
}

}  // namespace fieldsync::server
