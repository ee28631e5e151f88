// libFuzzer target: a client's WebSocket message as the server reads it
// (server/net/ws_protocol.cpp): the exact JSON parser with the message layer's depth limit,
// the "type" and "id" members, and the batch parser of a `push` (mutations over the
// WebSocket, protocol/mutation_request.hpp), which every object goes through here whatever
// its type. What must hold: no crash, no undefined behaviour, no exception, and a batch
// that parses keeps its promises (consecutive mutation ids, at most max_mutations).
#include "protocol/json_parse.hpp"
#include "protocol/mutation_request.hpp"
#include "server/net/ws_message_limits.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_json_exact(text, fieldsync::server::ws_max_json_depth);
  if (!parsed) return 0;
  const auto* msg = parsed->if_object();
  if (msg == nullptr) return 0;
  const auto* type = msg->if_contains("type");
  if (type != nullptr && type->is_string()) (void)std::string_view(type->get_string());
  batch_limits limits;
  limits.max_mutations = 16;
  auto batch = parse_mutation_batch(*parsed, limits);
  if (!batch) return 0;
  if (batch->mutations.size() > limits.max_mutations) __builtin_trap();
  for (std::size_t i = 1; i < batch->mutations.size(); ++i) {
    // Without overflow: the check must not do what the parser must not either.
    const auto prev = batch->mutations[i - 1].mutation_id;
    if (prev == std::numeric_limits<std::int64_t>::max() ||
        batch->mutations[i].mutation_id != prev + 1) {
      __builtin_trap();
    }
  }
  if (!valid_client_id(batch->client_id)) __builtin_trap();
  return 0;
}
