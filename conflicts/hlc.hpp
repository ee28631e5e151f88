#pragma once
// A hybrid logical clock value (Kulkarni et al., "Logical Physical Clocks", 2014): the time
// that orders concurrent writes for last-writer-wins. It stays close to wall-clock time but
// never goes backwards and never ties, whatever the devices' clocks do, as long as every
// node runs send() for its own events and receive() for every clock it learns.
//
// Text form, what clients send with a mutation and what the change log's origin carries:
//
//   2026-11-25T11:04:51.123Z-001F-7c9e6679-7425-40de-944b-e07fc1f90ae7
//   |______________________| |__| |__________________________________|
//   physical time            |    node: the client id, 1 to 64 bytes of [A-Za-z0-9._:-]
//   UTC, milliseconds,       logical counter, exactly 4 upper-case hex digits
//   exactly 24 characters    (0000 to FFFF)
//
// The first two fields have fixed widths, so the node may itself contain '-' (uuids), and a
// browser prints the time with `new Date(ms).toISOString()`. parse() accepts exactly what
// to_string() prints (one spelling per value), so comparing two clocks' texts byte by byte
// (COLLATE "C" in SQL) gives the same order as operator<=>.
//
// Order: physical time, then counter, then node bytes. The node makes the order total, so two
// clients that edit in the same millisecond are still ordered, the same way on every server.
//
// Pure: time comes in as an argument; values are immutable and safe to share across threads.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace fieldsync::conflicts {

enum class hlc_errc {
  malformed = 1,     // not the layout above (length, separators)
  bad_time,          // not a valid UTC time from 1970 to 9999 (or a wall time out of that range)
  bad_counter,       // not 4 upper-case hex digits
  bad_node,          // empty, longer than 64 bytes, or a byte outside [A-Za-z0-9._:-]
  counter_overflow,  // more than 65536 events within one millisecond of the clock
  clock_drift,       // a received clock too far ahead of the local wall time
};

const boost::system::error_category& hlc_category() noexcept;
inline boost::system::error_code make_error_code(hlc_errc e) noexcept {
  return {static_cast<int>(e), hlc_category()};
}

class hlc {
 public:
  static constexpr std::int64_t max_physical_ms = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  static constexpr std::uint32_t max_counter = 0xFFFF;
  static constexpr std::size_t max_node_size = 64;
  static constexpr std::size_t max_text_size = 24 + 1 + 4 + 1 + max_node_size;
  // How far ahead of the local wall time a received clock may be. A device whose clock runs
  // fast would otherwise win every last-writer-wins conflict, and drag every clock that
  // hears from it into the future, for as long as its clock is wrong.
  static constexpr std::int64_t default_max_drift_ms = 60'000;

  static boost::system::result<hlc> make(std::int64_t physical_ms, std::uint32_t counter,
                                         std::string_view node);
  // The zero clock of a node: where a new client starts before its first send().
  static boost::system::result<hlc> zero(std::string_view node) { return make(0, 0, node); }
  static boost::system::result<hlc> parse(std::string_view text);

  std::int64_t physical_ms() const noexcept { return physical_ms_; }
  std::uint32_t counter() const noexcept { return counter_; }
  const std::string& node() const noexcept { return node_; }
  std::string to_string() const;

  // The clock of a local event (a mutation made on this node) at wall time now_ms
  // (milliseconds since the Unix epoch):
  //   physical = max(this.physical, now); counter = this.counter + 1 if physical did not move,
  //   otherwise 0.
  boost::system::result<hlc> send(std::int64_t now_ms) const;

  // This node's clock after learning `remote` (a row's clock from the server, a client's
  // mutation) at wall time now_ms; the node stays this one's:
  //   physical = max(this.physical, remote.physical, now); counter = the larger counter of the
  //   clocks whose physical equals the new physical, plus 1, or 0 when only now is that large.
  // Fails with clock_drift when remote is more than max_drift_ms ahead of now.
  boost::system::result<hlc> receive(const hlc& remote, std::int64_t now_ms,
                                     std::int64_t max_drift_ms = default_max_drift_ms) const;

  friend std::strong_ordering operator<=>(const hlc& a, const hlc& b) noexcept;
  friend bool operator==(const hlc& a, const hlc& b) noexcept = default;

 private:
  hlc(std::int64_t physical_ms, std::uint32_t counter, std::string node)
      : physical_ms_(physical_ms), counter_(counter), node_(std::move(node)) {}

  std::int64_t physical_ms_ = 0;
  std::uint32_t counter_ = 0;
  std::string node_;
};

}  // namespace fieldsync::conflicts

template <>
struct boost::system::is_error_code_enum<fieldsync::conflicts::hlc_errc> : std::true_type {};
