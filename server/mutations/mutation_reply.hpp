#pragma once
// What the mutation service answers, in its own terms: the HTTP edge
// (server/mutations/mutation_routes.cpp) and the WebSocket edge (server/mutations/ws_push.cpp)
// each translate it, so the service knows nothing of status codes or messages on a socket.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <utility>

namespace fieldsync::server {

// Why a whole request was refused; nothing of it was recorded.
enum class refusal_kind {
  bad_request,  // the request is malformed (HTTP 400)
  forbidden,    // the caller may not do this (HTTP 403)
  gap,          // the batch skips mutation ids the server has not seen (HTTP 409)
  unavailable,  // the database could not do it now: retry (HTTP 503)
  internal,     // the database answered something fieldsync does not expect (HTTP 500)
};

struct mutation_refusal {
  refusal_kind kind = refusal_kind::unavailable;
  std::string code;     // the wire error code ("mutation_gap", "row_locked", ...)
  std::string message;  // one line for people
  boost::json::object details;  // more members of the error object (mutation_gap: expected_mutation_id)
};

// The answer to a push or a listing: the body when it was accepted ({"client_id",
// "last_mutation_id", "results"} for a push), otherwise the refusal.
struct mutation_reply {
  std::optional<mutation_refusal> refusal;
  boost::json::object body;  // empty when refused

  static mutation_reply accepted(boost::json::object body) { return {std::nullopt, std::move(body)}; }
  static mutation_reply refused(refusal_kind kind, std::string code, std::string message,
                                boost::json::object details = {}) {
    return {mutation_refusal{kind, std::move(code), std::move(message), std::move(details)}, {}};
  }
};

// {"code", "message", ...details}: the error object both edges send.
inline boost::json::object error_object(const mutation_refusal& r) {
  boost::json::object error{{"code", r.code}, {"message", r.message}};
  for (const auto& [k, v] : r.details) error[k] = v;
  return error;
}

}  // namespace fieldsync::server
