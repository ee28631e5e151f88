#pragma once
// The deny list through the admin API (docs/protocol.md, "Revocations"):
//
//   POST   /admin/v1/revocations          {"sub": S, "until"?: T} or {"jti": J, "until"?: T}
//   GET    /admin/v1/revocations          every entry in force
//   DELETE /admin/v1/revocations?sub=S    lift one (or ?jti=J)
//
// and the sweep that closes the open WebSocket sessions the list refuses (after a POST
// here, and after a refresh that brought revocations taken on another node).

#include "server/access/authenticator.hpp"
#include "server/access/revocation_store.hpp"
#include "server/admin/admin_services.hpp"
#include "server/net/connection_registry.hpp"
#include "server/net/router.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace fieldsync::server {

void add_revocation_routes(router& r, std::shared_ptr<const admin_services> s,
                           std::shared_ptr<revocation_store> store, const authenticator& auth);

// Closes (4003, reason token_revoked) every open WebSocket session whose principal the deny
// list refuses now; the ids of those closed. Runs on the reactor.
std::vector<std::uint64_t> close_revoked_sessions(const connection_registry& connections,
                                                  const authenticator& auth);

}  // namespace fieldsync::server
