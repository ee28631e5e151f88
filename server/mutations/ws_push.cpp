#include "server/mutations/ws_push.hpp"

#include "server/core/spawn_logged.hpp"
#include "server/live/sync_session.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

namespace fieldsync::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The reply to one push: push_result with the per-mutation results, or the error that
// refused the whole batch (the same codes as the HTTP endpoint).
std::string reply_message(const json::value& id, const mutation_reply& reply) {
  json::object out;
  out["type"] = reply.refusal ? "error" : "push_result";
  out["id"] = id;
  auto add = [&out](const json::object& members) {
    for (const auto& [k, v] : members) out[k] = v;
  };
  if (reply.refusal) {
    add(error_object(*reply.refusal));
  } else {
    add(reply.body);
  }
  return json::serialize(out);
}

// Applies the session's queued pushes in order until the queue is empty. The session is
// held meanwhile: a node shutting down closes it only once these pushes are answered.
asio::awaitable<void> apply_pushes(std::shared_ptr<ws_session> session,
                                   mutation_service_source source) {
  session->hold();
  for (;;) {
    auto* state = sync_session::of(*session);
    if (state && session->closing()) {
      // Unanswered pushes of a closed connection are not applied: the client sends them
      // again when it reconnects (a batch that was applied answers "duplicate" then).
      state->pushes.clear();
    }
    if (!state || state->pushes.empty() || !state->who) {
      if (state) state->pushing = false;
      session->release();
      co_return;
    }
    json::object msg = std::move(state->pushes.front());
    state->pushes.pop_front();
    const principal who = *state->who;
    if (!msg.contains("client_id") && !state->client_id.empty()) {
      msg["client_id"] = state->client_id;  // the one declared in hello
    }
    json::value id = msg.contains("id") ? msg["id"] : json::value(nullptr);

    mutation_reply reply;
    try {
      if (auto service = source()) {
        reply = co_await service->async_apply(who, msg);
      } else {
        reply = mutation_reply::refused(refusal_kind::unavailable, "starting", "the server is starting");
      }
    } catch (const std::exception& e) {
      // async_apply does not throw; should anything else, this push fails alone and the
      // queue goes on (a detached coroutine would swallow it and stall the queue).
      spdlog::error("push failed: {}", e.what());
      reply = mutation_reply::refused(refusal_kind::internal, "internal_error", "the push failed: retry");
    }
    session->send(reply_message(id, reply));
  }
}

}  // namespace

void install_push(ws_protocol& protocol, mutation_service_source service, std::size_t max_queued) {
  protocol.add("push", [service = std::move(service), max_queued](ws_session& session,
                                                                   const json::object& msg) {
    auto* state = sync_session::of(session);
    const json::value* id = msg.if_contains("id");
    if (!state || !state->who) {
      return session.send(
          ws_protocol::error_message("unauthenticated", "send hello with a token first", id));
    }
    if (session.shutting_down()) {
      // The node is closing this session (1012): a push that arrives now is not applied
      // and not answered; the client sends it again on its next connection.
      return;
    }
    if (state->pushes.size() >= max_queued) {
      return session.send(ws_protocol::error_message(
          "too_many_pushes",
          "this connection has " + std::to_string(max_queued) +
              " pushes waiting: wait for their results (nothing of this one was recorded)",
          id));
    }
    state->pushes.push_back(msg);
    if (state->pushing) return;
    state->pushing = true;
    spawn_logged(session.get_executor(), apply_pushes(session.shared_from_this(), service),
                 "push queue");
  });
}

}  // namespace fieldsync::server
