// libFuzzer target: the walsender framing inside CopyData
// (protocol/walsender_message.hpp), and the pgoutput message an XLogData carries.
#include "protocol/pgoutput_message.hpp"
#include "protocol/walsender_message.hpp"

#include <cstddef>
#include <cstdint>

using namespace fieldsync::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = decode_walsender_message(std::span(data, size));
  if (!r) {
    if (r.error().category() != walsender_category()) __builtin_trap();
    return 0;
  }
  if (const auto* x = std::get_if<xlog_data>(&*r)) {
    if (x->payload.data() < data || x->payload.data() + x->payload.size() > data + size) {
      __builtin_trap();
    }
    (void)decode_pgoutput(x->payload);
  } else {
    const auto& k = std::get<primary_keepalive>(*r);
    auto reply = encode_standby_status_update(k.wal_end, k.wal_end, k.wal_end, k.send_time,
                                              k.reply_requested);
    if (reply.size() != 34) __builtin_trap();
  }
  return 0;
}
