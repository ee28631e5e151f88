#include "server/pull/pull_position.hpp"

#include "protocol/pg_text.hpp"

namespace fieldsync::server {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                      (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                      static_cast<std::uint8_t>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t v = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                      (static_cast<std::uint8_t>(bytes[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int s = sextet(c);
    if (s < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(s);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero, so that every key has exactly one spelling.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string to_string(const pull_position& p) {
  if (const auto* c = std::get_if<protocol::cursor>(&p)) return c->to_string();
  const auto& s = std::get<snapshot_position>(p);
  protocol::cursor c{s.epoch, s.as_of};
  return "S" + c.to_string() + "-" + base64url_encode(s.after_key);
}

std::optional<pull_position> parse_pull_position(std::string_view text, std::size_t max_key_bytes) {
  if (text.empty()) return std::nullopt;
  if (text.front() != 'S') {
    auto c = protocol::cursor::parse(text);
    if (!c) return std::nullopt;
    return pull_position(*c);
  }
  text.remove_prefix(1);
  auto first = text.find('-');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = text.find('-', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto c = protocol::cursor::parse(text.substr(0, second));
  if (!c || c->index != protocol::cursor::whole_transaction) return std::nullopt;
  auto encoded = text.substr(second + 1);
  if (encoded.size() > (max_key_bytes + 2) / 3 * 4) return std::nullopt;
  auto key = base64url_decode(encoded);
  // The key goes back to SQL as text: bytes PostgreSQL refuses are not a cursor of ours.
  if (!key || key->empty() || !protocol::is_pg_text(*key)) return std::nullopt;
  return pull_position(snapshot_position{c->epoch, c->position, std::move(*key)});
}

}  // namespace fieldsync::server
