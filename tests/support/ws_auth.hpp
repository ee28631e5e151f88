#pragma once
// How the WebSocket endpoint answers a token: by hello, or in the upgrade's Authorization
// header (the e2e tests of authentication and of revocation).

#include <cstdint>
#include <string>

namespace fieldsync::test {

// hello with `token`: 0 when welcomed, else the close code (checks that a first message is
// the welcome).
std::uint16_t hello_outcome(std::uint16_t port, const std::string& token);

// The HTTP status of an upgrade with the token in Authorization (101 when accepted).
unsigned upgrade_status(std::uint16_t port, const std::string& token);

}  // namespace fieldsync::test
