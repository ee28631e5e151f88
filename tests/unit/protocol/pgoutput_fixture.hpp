#pragma once
// Reads the golden pgoutput captures of tests/fixtures/pgoutput (format in its README.md):
// one message per line, "<lsn> <xid> <hex bytes>", '#' lines are comments.

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fieldsync::test {

struct fixture_message {
  std::string lsn;  // as pg_logical_slot_peek_binary_changes printed it
  std::uint32_t xid = 0;
  std::vector<std::uint8_t> bytes;
};

inline std::string fixture_path(const std::string& name) {
  return std::string(FIELDSYNC_FIXTURES_DIR) + "/pgoutput/" + name;
}

inline std::vector<std::uint8_t> from_hex(const std::string& hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("bad hex digit in fixture");
  };
  if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length in fixture");
  std::vector<std::uint8_t> out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

inline std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

inline std::vector<fixture_message> read_fixture(const std::string& name) {
  std::ifstream in(fixture_path(name));
  if (!in) throw std::runtime_error("cannot open fixture " + fixture_path(name));
  std::vector<fixture_message> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    fixture_message m;
    std::string hex;
    if (!(fields >> m.lsn >> m.xid >> hex)) throw std::runtime_error("bad fixture line: " + line);
    m.bytes = from_hex(hex);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace fieldsync::test
