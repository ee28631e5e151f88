// Writes the seed corpora of the fuzz targets from the golden pgoutput captures:
//   fuzz_seed_corpus FIXTURE_DIR OUT_DIR
// OUT_DIR/pgoutput_message: every captured message; OUT_DIR/walsender_message: each in an
// XLogData, plus a keepalive; OUT_DIR/value_text: every captured text value with the byte
// that selects its column's type in fuzz_value_text; OUT_DIR/transaction_assembler: each
// captured transaction after the Relation messages before it, and the captures' first
// messages up to 16 KiB, in fuzz_transaction_assembler's framing; OUT_DIR/filter: a few
// filters with parameters and rows, and LIKE patterns with texts, in fuzz_filter's framing.
#include "protocol/pg_type.hpp"
#include "protocol/pgoutput_message.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;
using namespace fieldsync::protocol;

namespace {

std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// fuzz_transaction_assembler's framing of one message: a 2-byte big-endian length first.
void append_framed(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& message) {
  out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
  out.insert(out.end(), message.begin(), message.end());
}

// scripts/fuzz's -max_len: a longer seed would be cut.
constexpr std::size_t max_seed_bytes = 16384;

void write(const fs::path& dir, std::size_t n, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / ("seed-" + std::to_string(n)), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::uint8_t selector_of(type_oid oid) {
  const auto known = known_column_types();
  for (std::size_t i = 0; i < known.size(); ++i) {
    if (known[i].oid == oid) return static_cast<std::uint8_t>(i);
  }
  return static_cast<std::uint8_t>(known.size());  // fuzz_value_text's unknown type
}

// fuzz_filter's seeds: mode byte, then the parts separated by NUL.
void write_filter_seeds(const fs::path& dir, std::size_t& n) {
  const std::vector<std::vector<std::string>> filters = {
      {"id = $1 AND t LIKE $2", R"([7, "a%b_c"])", R"({"id":7,"t":"axxbyc"})"},
      {"i4 = ANY($1) OR i2 = ANY($1) OR id IN (1, 2, 3)", "[[1, 2, null]]", R"({"i4":2})"},
      {"t = ANY($claims.tags) AND NOT (b OR v IS NULL)", R"({"tags":["x","y"]})",
       R"({"t":"x","b":false,"v":"q"})"},
      {"ts >= $1 AND d < '2030-01-01' AND u = $2", R"(["2026-11-25T11:04:51Z",
       "6f1c2b0e-8c4e-4c8e-9d6a-0a0b0c0d0e0f"])",
       R"({"ts":"2026-12-01T00:00:00Z","d":"2026-01-01","u":"6f1c2b0e-8c4e-4c8e-9d6a-0a0b0c0d0e0f"})"},
      {"n > $1 OR f8 <= $2 OR c = 'ab' OR tm = '10:00'", R"(["12.5", 1e300])",
       R"({"n":"13","f8":"NaN","c":"ab  "})"},
      {"t NOT LIKE '%a%a%a%b' AND j IS NOT NULL AND arr IS NULL", "[]",
       R"({"t":"aaaaaaaaaaaaaaaa","j":{"k":1}})"},
  };
  for (const auto& f : filters) {
    std::vector<std::uint8_t> bytes{0};
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i) bytes.push_back(0);
      bytes.insert(bytes.end(), f[i].begin(), f[i].end());
    }
    write(dir, ++n, bytes);
  }
  const std::vector<std::pair<std::string, std::string>> likes = {
      {"%a%a%a%b", "aaaaaaaaaaaaaaaaaaaaaaaaab"},
      {"_本%\\%", "日本語%"},
      {"a\\_b%", "a_bc"},
      {"%%__%", "xy"}};
  for (const auto& [pattern, text] : likes) {
    std::vector<std::uint8_t> bytes{1};
    bytes.insert(bytes.end(), pattern.begin(), pattern.end());
    bytes.push_back(0);
    bytes.insert(bytes.end(), text.begin(), text.end());
    write(dir, ++n, bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seed_corpus FIXTURE_DIR OUT_DIR\n");
    return 2;
  }
  const fs::path fixtures = argv[1];
  const fs::path out = argv[2];
  std::size_t n = 0;
  std::map<std::uint32_t, relation_message> relations;
  for (const char* name : {"messages.hex", "messages_binary.hex"}) {
    std::ifstream in(fixtures / name);
    if (!in) {
      std::fprintf(stderr, "fuzz_seed_corpus: cannot read %s\n", (fixtures / name).c_str());
      return 1;
    }
    std::map<std::uint32_t, std::vector<std::uint8_t>> relation_bytes;
    std::vector<std::uint8_t> txn;
    std::vector<std::uint8_t> stream;  // the first messages, while they fit
    bool stream_full = false;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string lsn, xid, hex;
      fields >> lsn >> xid >> hex;
      const auto bytes = from_hex(hex);
      ++n;
      write(out / "pgoutput_message", n, bytes);
      std::vector<std::uint8_t> xlog(25, 0);
      xlog[0] = 'w';
      xlog.insert(xlog.end(), bytes.begin(), bytes.end());
      write(out / "walsender_message", n, xlog);

      auto m = decode_pgoutput(bytes);
      if (!m) continue;
      stream_full = stream_full || stream.size() + bytes.size() + 2 > max_seed_bytes;
      if (!stream_full) append_framed(stream, bytes);
      if (std::holds_alternative<begin_message>(*m)) {
        txn.clear();
        for (const auto& [oid, relation] : relation_bytes) append_framed(txn, relation);
      }
      append_framed(txn, bytes);
      if (std::holds_alternative<commit_message>(*m) && txn.size() <= max_seed_bytes) {
        write(out / "transaction_assembler", ++n, txn);
      }
      if (auto* r = std::get_if<relation_message>(&*m)) {
        relations[r->oid] = *r;
        relation_bytes[r->oid] = bytes;
      }
      const insert_message* ins = std::get_if<insert_message>(&*m);
      if (ins == nullptr || !relations.count(ins->relation_oid)) continue;
      const auto& rel = relations[ins->relation_oid];
      for (std::size_t c = 0; c < ins->new_tuple.size() && c < rel.columns.size(); ++c) {
        const auto& v = ins->new_tuple[c];
        if (v.k != tuple_value::kind::text) continue;
        std::vector<std::uint8_t> seed{selector_of(rel.columns[c].type)};
        seed.insert(seed.end(), v.data.begin(), v.data.end());
        write(out / "value_text", ++n, seed);
      }
    }
    write(out / "transaction_assembler", ++n, stream);
  }
  write(out / "walsender_message", ++n, {'k', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1});
  // HTTP requests (a first byte choosing the read size, then the bytes) and WebSocket client
  // messages, written by hand from docs/protocol.md.
  auto text_seed = [&](const char* target, std::string_view prefix, std::string_view text) {
    std::vector<std::uint8_t> bytes(prefix.begin(), prefix.end());
    bytes.insert(bytes.end(), text.begin(), text.end());
    write(out / target, ++n, bytes);
  };
  for (const char* req :
       {"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /readyz HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /v1/mutations HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /v1/mutations HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
        "GET /v1/ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"}) {
    text_seed("http_request", "\x01", req);
    text_seed("http_request", "\x3f", req);
  }
  for (const char* msg :
       {R"({"type":"ping","id":7})",
        R"({"type":"hello","token":"eyJhbGciOiJIUzI1NiJ9.e30.x","client_id":"c1","protocol":1})",
        R"({"type":"subscribe","id":"s1","collection":"visits","where":"rep_id = $1",)"
        R"("params":[7],"cursor":"0/16B3F28"})",
        R"({"type":"unsubscribe","id":"s1"})",
        R"({"type":"push","id":3,"client_id":"7c9e6679","mutations":[{"mutation_id":41,)"
        R"("collection":"visits","op":"update","key":{"id":"a"},"set":{"notes":"x"},)"
        R"("base":{"notes":"y"},"base_version":"0/16B3A28"},{"mutation_id":42,)"
        R"("collection":"visits","op":"delete","key":{"id":"b"}}]})"}) {
    text_seed("ws_client_message", "", msg);
  }
  write_filter_seeds(out / "filter", n);
  std::printf("fuzz_seed_corpus: %zu seeds in %s\n", n, out.c_str());
  return 0;
}
