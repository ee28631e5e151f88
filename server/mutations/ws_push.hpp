#pragma once
// The fieldsync.v1 `push` message: a batch of client mutations over the WebSocket, applied
// by the same mutation_service as POST /v1/mutations (docs/protocol.md, "Push").
//
// A session's pushes are applied one after another, in the order they arrived, so that a
// client that pipelines its batches never sees its own later batch refused for a gap while
// an earlier one is still committing. At most `max_queued` wait; more are refused with
// "too_many_pushes" (nothing recorded), which bounds what one session can make the server
// hold. The queue lives in the session's sync_session, on the session's strand.

#include "server/mutations/mutation_service.hpp"
#include "server/net/ws_protocol.hpp"

#include <cstddef>
#include <memory>

namespace fieldsync::server {

void install_push(ws_protocol& protocol, mutation_service_source service, std::size_t max_queued);

}  // namespace fieldsync::server
