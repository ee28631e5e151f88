#pragma once
// A client's batch of mutations (POST /v1/mutations, the WebSocket `push`), as parsed from
// its JSON (docs/protocol.md, "Mutations"):
//
//   {"client_id": "7c9e6679-...", "mutations": [
//     {"mutation_id": 41, "collection": "visits", "op": "update",
//      "key": {"id": "..."}, "set": {"notes": "..."}, "base": {"notes": "..."},
//      "base_version": "0/16B3A28", "client_ts": "2026-11-25T11:04:51.123Z-0000-7c9e..."}]}
//
// The client id belongs to the batch: exactly-once is per client, and one device pushes its
// own queue. A mutation may repeat it (the wire shape lists it per mutation) but not
// name another. Mutation ids are consecutive within a batch.
//
// Two levels of failure. A batch that cannot be attributed (not an object, no valid client
// id, a mutation without a usable mutation_id, ids not consecutive, too many mutations) is
// refused as a whole (batch_error: HTTP 400, nothing recorded). A mutation whose own shape
// is wrong (unknown op, `set` not an object, unknown members, ...) keeps its id and carries a
// mutation_problem: it is answered `rejected` and its id still advances, so a queue never
// blocks on it.
//
// Pure: no I/O; never throws on input.

#include "protocol/lsn.hpp"
#include "protocol/mutation_errc.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::protocol {

enum class mutation_op { insert, update, remove };

std::string_view to_string(mutation_op op) noexcept;  // "insert", "update", "delete"

struct mutation {
  std::int64_t mutation_id = 0;
  std::string collection;
  mutation_op op = mutation_op::update;
  boost::json::object key;   // the primary-key columns (an insert may give them in `set`)
  boost::json::object set;   // update: the columns it changes; insert: the new row
  boost::json::object base;  // what the client saw (update: those columns; delete: the row)
  std::optional<lsn> base_version;  // the row version the edit was made on
  std::string client_ts;            // the client's hybrid logical clock; empty when none
  std::optional<mutation_problem> problem;  // a shape problem: rejected with it
};

struct mutation_batch {
  std::string client_id;
  std::vector<mutation> mutations;  // mutation ids consecutive, ascending
};

struct batch_limits {
  std::size_t max_mutations = 1000;
};

// The batch is refused as a whole: code "bad_request" or "batch_too_large".
struct batch_error {
  std::string code;
  std::string message;
};

// A client id (and a clock's node): 1 to 64 bytes of [A-Za-z0-9._:-].
bool valid_client_id(std::string_view id) noexcept;

// `request` is the parsed body. Members "type" and "id" are ignored at the top level, so a
// WebSocket message can be passed as it came.
boost::system::result<mutation_batch, batch_error> parse_mutation_batch(
    const boost::json::value& request, const batch_limits& limits);

}  // namespace fieldsync::protocol
