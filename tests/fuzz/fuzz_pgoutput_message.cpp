// libFuzzer target: pgoutput messages (protocol/pgoutput_message.hpp). Any bytes give a
// message or an error code; a decoded Relation goes through the cache.
#include "protocol/pgoutput_message.hpp"

#include <cstddef>
#include <cstdint>

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = decode_pgoutput(std::span(data, size));
  if (!r) {
    if (r.error().category() != pgoutput_category()) __builtin_trap();
    return 0;
  }
  if (const auto* rel = std::get_if<relation_message>(&*r)) {
    relation_cache cache;
    cache.put(*rel);
    if (cache.find(rel->oid) == nullptr) __builtin_trap();
  }
  return 0;
}
