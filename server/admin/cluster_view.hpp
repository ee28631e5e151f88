#pragma once
// The pure decisions of the cluster-wide admin view (docs/protocol.md, "Cluster"): when a
// node counts as down, how a client is named across nodes, the disconnect orders nodes send
// each other over NOTIFY, and how leadership changes are counted from observations.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::server {

// A node whose heartbeat is older than this many of its own intervals is down.
inline constexpr int missed_heartbeats_down = 3;
// A down node's row is deleted after max(this, 2 × the down age).
inline constexpr std::chrono::milliseconds node_retention{3'600'000};

bool node_is_down(std::chrono::milliseconds heartbeat_age, std::chrono::milliseconds interval);

// A random node id for this process start: 16 lower-case hex digits.
std::string random_node_id();

// A session across the cluster: the node's id and the session's id on it. As text
// "<node>:<id>" (the `after` cursor of the cluster-wide client list).
struct client_ref {
  std::string node;
  std::uint64_t id = 0;
  friend auto operator<=>(const client_ref&, const client_ref&) = default;
};
std::string to_string(const client_ref& r);
std::optional<client_ref> parse_client_ref(std::string_view text);

// An admin API's disconnect, for the other nodes (NOTIFY fieldsync_admin): every session of
// a subject, or one session of one node. `from` is the sending node, which closed its own
// sessions already.
inline constexpr std::string_view admin_channel = "fieldsync_admin";
// Longer subjects are refused by the API: a NOTIFY payload has at most 8000 bytes.
inline constexpr std::size_t max_order_subject_bytes = 1024;

struct disconnect_order {
  std::string from;
  std::optional<std::string> subject;
  std::optional<client_ref> session;
};
std::string encode(const disconnect_order& o);
// nullopt for anything else (a payload of another version, or not JSON).
std::optional<disconnect_order> parse_disconnect_order(std::string_view payload);
// Whether node `self` acts on the order: a session order its node does; a subject order
// every node but the sender.
bool order_concerns(const disconnect_order& o, std::string_view self);

// Counts leadership changes of this node from what its ingest reports, observed now and
// then: becoming leader and ceasing to be count one each; a new leader_since while leading
// means it lost and regained leadership in between (two).
class leader_watch {
 public:
  int observe(bool leader, std::chrono::system_clock::time_point since) noexcept;

 private:
  bool leader_ = false;
  std::chrono::system_clock::time_point since_{};
};

}  // namespace fieldsync::server
