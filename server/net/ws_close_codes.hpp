#pragma once
// WebSocket close codes of fieldsync.v1 (docs/protocol.md lists them for client authors).

#include <cstdint>

namespace fieldsync::server::ws_close {

inline constexpr std::uint16_t protocol_error = 1002;      // not a WebSocket peer
inline constexpr std::uint16_t unsupported_data = 1003;    // binary frames
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;     // over websocket.max_message_bytes
inline constexpr std::uint16_t internal_error = 1011;
// The node is draining (SIGTERM, a rolling restart): reconnect, through the load balancer
// to another node, and resume from your cursors. Not an error to show a user.
inline constexpr std::uint16_t service_restart = 1012;
inline constexpr std::uint16_t bad_hello = 4000;           // malformed hello, unknown protocol
inline constexpr std::uint16_t unauthorized = 4001;        // token refused, or no hello in time
inline constexpr std::uint16_t token_expired = 4002;       // the session's token expired
inline constexpr std::uint16_t disconnected = 4003;        // an operator disconnected it
inline constexpr std::uint16_t slow_consumer = 4008;       // send queue over its limit
inline constexpr std::uint16_t too_many_sessions = 4029;   // over websocket.max_sessions_per_user

}  // namespace fieldsync::server::ws_close
