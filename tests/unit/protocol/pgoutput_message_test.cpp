#include "protocol/pgoutput_message.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace fieldsync::protocol;

namespace {

// Writes fields the way upstream's pq_send* functions do (network byte order).
class message_builder {
 public:
  explicit message_builder(char type) { u8(static_cast<std::uint8_t>(type)); }

  message_builder& u8(std::uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  message_builder& u16(std::uint16_t v) { return be(v, 2); }
  message_builder& u32(std::uint32_t v) { return be(v, 4); }
  message_builder& u64(std::uint64_t v) { return be(v, 8); }
  message_builder& str(const std::string& s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return u8(0);
  }
  message_builder& counted(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  message_builder& text_value(const std::string& s) { return u8('t').counted(s); }

  std::vector<std::uint8_t> bytes() const { return bytes_; }

 private:
  message_builder& be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<std::uint8_t> bytes_;
};

template <typename T>
T decode_as(const std::vector<std::uint8_t>& bytes) {
  auto r = decode_pgoutput(bytes);
  if (!r) FAIL("decode failed: " << r.error().message());
  REQUIRE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

std::vector<std::uint8_t> sample_relation() {
  return message_builder('R')
      .u32(16385)
      .str("public")
      .str("accounts")
      .u8('f')
      .u16(3)
      .u8(1)
      .str("id")
      .u32(20)
      .u32(0xffffffff)
      .u8(0)
      .str("name")
      .u32(1043)
      .u32(68)
      .u8(0)
      .str("tags")
      .u32(1009)
      .u32(0xffffffff)
      .bytes();
}

std::vector<std::uint8_t> sample_update() {
  return message_builder('U')
      .u32(16385)
      .u8('O')
      .u16(3)
      .text_value("7")
      .u8('n')
      .u8('u')
      .u8('N')
      .u16(3)
      .text_value("7")
      .text_value("Acme")
      .u8('u')
      .bytes();
}

// A valid message of every type, for the malformed-input tests.
std::vector<std::vector<std::uint8_t>> every_message() {
  return {
      message_builder('B').u64(0x1600000100).u64(789).u32(735).bytes(),
      message_builder('C').u8(0).u64(0x1600000100).u64(0x1600000130).u64(789).bytes(),
      message_builder('O').u64(0x1234abcd).str("origin").bytes(),
      sample_relation(),
      message_builder('Y').u32(16390).str("public").str("mood").bytes(),
      message_builder('I').u32(16385).u8('N').u16(2).text_value("1").u8('n').bytes(),
      sample_update(),
      message_builder('U')
          .u32(1)
          .u8('K')
          .u16(1)
          .text_value("1")
          .u8('N')
          .u16(1)
          .text_value("2")
          .bytes(),
      message_builder('D').u32(16385).u8('K').u16(2).text_value("7").u8('n').bytes(),
      message_builder('T').u32(2).u8(3).u32(16385).u32(16386).bytes(),
      message_builder('M').u8(1).u64(0x1600000100).str("fieldsync").counted("{\"a\":1}").bytes(),
      message_builder('I').u32(1).u8('N').u16(1).u8('b').counted(std::string("\0\1", 2)).bytes(),
  };
}

}  // namespace

TEST_CASE("Begin and Commit", "[pgoutput]") {
  auto b =
      decode_as<begin_message>(message_builder('B').u64(0x1600000100).u64(789).u32(735).bytes());
  CHECK(b.final_lsn.to_string() == "16/100");
  CHECK(b.commit_time == 789);
  CHECK(b.xid == 735);

  auto c = decode_as<commit_message>(
      message_builder('C').u8(0).u64(0x1600000100).u64(0x1600000130).u64(789).bytes());
  CHECK(c.flags == 0);
  CHECK(c.commit_lsn.to_string() == "16/100");
  CHECK(c.end_lsn.to_string() == "16/130");
  CHECK(c.commit_time == 789);
}

TEST_CASE("Origin", "[pgoutput]") {
  auto o = decode_as<origin_message>(message_builder('O').u64(0x1234abcd).str("east").bytes());
  CHECK(o.origin_lsn.to_string() == "0/1234ABCD");
  CHECK(o.name == "east");
}

TEST_CASE("Relation", "[pgoutput]") {
  auto r = decode_as<relation_message>(sample_relation());
  CHECK(r.oid == 16385);
  CHECK(r.nspname == "public");
  CHECK(r.relname == "accounts");
  CHECK(r.replica_identity == 'f');
  REQUIRE(r.columns.size() == 3);
  CHECK(r.columns[0].is_key);
  CHECK(r.columns[0].name == "id");
  CHECK(r.columns[0].type == 20);
  CHECK(r.columns[0].type_modifier == -1);
  CHECK_FALSE(r.columns[1].is_key);
  CHECK(r.columns[1].type_modifier == 68);
  CHECK(r.columns[2].type == 1009);

  // pg_catalog relations come with an empty namespace; zero columns is legal.
  auto empty = decode_as<relation_message>(
      message_builder('R').u32(1).str("").str("t").u8('n').u16(0).bytes());
  CHECK(empty.nspname.empty());
  CHECK(empty.columns.empty());
}

TEST_CASE("Type", "[pgoutput]") {
  auto t =
      decode_as<type_message>(message_builder('Y').u32(16390).str("public").str("mood").bytes());
  CHECK(t.oid == 16390);
  CHECK(t.nspname == "public");
  CHECK(t.name == "mood");
}

TEST_CASE("Insert with every kind of column value", "[pgoutput]") {
  auto i = decode_as<insert_message>(message_builder('I')
                                         .u32(16385)
                                         .u8('N')
                                         .u16(5)
                                         .text_value("42")
                                         .u8('n')
                                         .u8('u')
                                         .u8('b')
                                         .counted(std::string("\0\xff", 2))
                                         .text_value("")
                                         .bytes());
  CHECK(i.relation_oid == 16385);
  REQUIRE(i.new_tuple.size() == 5);
  CHECK(i.new_tuple[0].k == tuple_value::kind::text);
  CHECK(i.new_tuple[0].data == "42");
  CHECK(i.new_tuple[1].k == tuple_value::kind::null);
  CHECK(i.new_tuple[2].k == tuple_value::kind::unchanged_toast);
  CHECK(i.new_tuple[3].k == tuple_value::kind::binary);
  CHECK(i.new_tuple[3].data == std::string("\0\xff", 2));
  CHECK(i.new_tuple[4].k == tuple_value::kind::text);
  CHECK(i.new_tuple[4].data.empty());
}

TEST_CASE("Update with an old row, an old key, or neither", "[pgoutput]") {
  auto full = decode_as<update_message>(sample_update());
  CHECK(full.relation_oid == 16385);
  REQUIRE(full.old_tuple);
  CHECK_FALSE(full.old_is_key_only);
  CHECK(full.old_tuple->size() == 3);
  CHECK((*full.old_tuple)[1].k == tuple_value::kind::null);
  CHECK((*full.old_tuple)[2].k == tuple_value::kind::unchanged_toast);
  REQUIRE(full.new_tuple.size() == 3);
  CHECK(full.new_tuple[1].data == "Acme");
  CHECK(full.new_tuple[2].k == tuple_value::kind::unchanged_toast);

  auto key = decode_as<update_message>(message_builder('U')
                                           .u32(1)
                                           .u8('K')
                                           .u16(1)
                                           .text_value("1")
                                           .u8('N')
                                           .u16(1)
                                           .text_value("2")
                                           .bytes());
  REQUIRE(key.old_tuple);
  CHECK(key.old_is_key_only);
  CHECK((*key.old_tuple)[0].data == "1");
  CHECK(key.new_tuple[0].data == "2");

  auto none =
      decode_as<update_message>(message_builder('U').u32(1).u8('N').u16(1).text_value("2").bytes());
  CHECK_FALSE(none.old_tuple);
  CHECK(none.new_tuple.size() == 1);
}

TEST_CASE("Delete with an old key or an old row", "[pgoutput]") {
  auto key = decode_as<delete_message>(
      message_builder('D').u32(16385).u8('K').u16(2).text_value("7").u8('n').bytes());
  CHECK(key.relation_oid == 16385);
  CHECK(key.old_is_key_only);
  REQUIRE(key.old_tuple.size() == 2);
  CHECK(key.old_tuple[0].data == "7");

  auto full = decode_as<delete_message>(
      message_builder('D').u32(16385).u8('O').u16(1).text_value("7").bytes());
  CHECK_FALSE(full.old_is_key_only);
}

TEST_CASE("Truncate", "[pgoutput]") {
  auto t =
      decode_as<truncate_message>(message_builder('T').u32(2).u8(3).u32(16385).u32(16386).bytes());
  CHECK(t.options == 3);
  CHECK(t.relation_oids == std::vector<std::uint32_t>{16385, 16386});
  auto none = decode_as<truncate_message>(message_builder('T').u32(0).u8(0).bytes());
  CHECK(none.relation_oids.empty());
}

TEST_CASE("Message, transactional or not, with binary content", "[pgoutput]") {
  auto m = decode_as<logical_message>(message_builder('M')
                                          .u8(1)
                                          .u64(0x1600000100)
                                          .str("fieldsync")
                                          .counted(std::string("a\0b", 3))
                                          .bytes());
  CHECK(m.transactional);
  CHECK(m.message_lsn.to_string() == "16/100");
  CHECK(m.prefix == "fieldsync");
  CHECK(m.content == std::string("a\0b", 3));

  auto plain =
      decode_as<logical_message>(message_builder('M').u8(0).u64(1).str("p").counted("").bytes());
  CHECK_FALSE(plain.transactional);
  CHECK(plain.content.empty());
}

TEST_CASE("every truncation of a valid message is an error", "[pgoutput][malformed]") {
  for (const auto& msg : every_message()) {
    REQUIRE(decode_pgoutput(msg).has_value());
    for (std::size_t n = 0; n < msg.size(); ++n) {
      INFO("type " << static_cast<char>(msg[0]) << ", first " << n << " of " << msg.size());
      auto r = decode_pgoutput(std::span(msg).first(n));
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().category() == pgoutput_category());
    }
    auto longer = msg;
    longer.push_back(0);
    INFO("type " << static_cast<char>(msg[0]));
    CHECK(decode_pgoutput(longer).error() == pgoutput_errc::trailing_bytes);
  }
}

TEST_CASE("malformed pgoutput messages are error codes", "[pgoutput][malformed]") {
  CHECK(decode_pgoutput({}).error() == pgoutput_errc::empty);
  for (char t : {'x', 'S', 'E', 'c', 'A', 'b', 'P', 'K', 'r', 'p', '\0'}) {
    INFO(t);
    CHECK(decode_pgoutput(message_builder(t).u32(0).bytes()).error() ==
          pgoutput_errc::unknown_type);
  }
  CHECK(decode_pgoutput(message_builder('B').u64(1).bytes()).error() == pgoutput_errc::truncated);

  SECTION("column value kinds") {
    auto bad = message_builder('I').u32(1).u8('N').u16(1).u8('x').bytes();
    CHECK(decode_pgoutput(bad).error() == pgoutput_errc::bad_tuple_kind);
  }
  SECTION("tuple markers") {
    CHECK(decode_pgoutput(message_builder('I').u32(1).u8('O').u16(0).bytes()).error() ==
          pgoutput_errc::bad_tuple_marker);
    CHECK(decode_pgoutput(message_builder('U').u32(1).u8('X').u16(0).bytes()).error() ==
          pgoutput_errc::bad_tuple_marker);
    CHECK(decode_pgoutput(message_builder('U').u32(1).u8('K').u16(0).u8('K').u16(0).bytes())
              .error() == pgoutput_errc::bad_tuple_marker);
    CHECK(decode_pgoutput(message_builder('D').u32(1).u8('N').u16(0).bytes()).error() ==
          pgoutput_errc::bad_tuple_marker);
  }
  SECTION("strings without their NUL") {
    auto msg = message_builder('O').u64(1).bytes();
    msg.push_back('a');
    CHECK(decode_pgoutput(msg).error() == pgoutput_errc::bad_string);
    auto rel = message_builder('R').u32(1).str("public").bytes();
    rel.push_back('t');
    CHECK(decode_pgoutput(rel).error() == pgoutput_errc::bad_string);
  }
  SECTION("a relation naming a column twice") {
    // Found by fuzz_transaction_assembler: a column both unchanged-TOAST and with a value.
    auto rel = message_builder('R').u32(1).str("s").str("t").u8('d').u16(2);
    rel.u8(1).str("a").u32(23).u32(0xffffffff).u8(0).str("a").u32(25).u32(0xffffffff);
    CHECK(decode_pgoutput(rel.bytes()).error() == pgoutput_errc::duplicate_column);
  }
  SECTION("column counts over PostgreSQL's 1600") {
    CHECK(decode_pgoutput(message_builder('R').u32(1).str("s").str("t").u8('d').u16(1601).bytes())
              .error() == pgoutput_errc::too_many_columns);
    CHECK(decode_pgoutput(message_builder('I').u32(1).u8('N').u16(0xffff).bytes()).error() ==
          pgoutput_errc::too_many_columns);
    // 1600 columns are fine.
    message_builder wide('I');
    wide.u32(1).u8('N').u16(1600);
    for (int i = 0; i < 1600; ++i) wide.u8('n');
    CHECK(decode_as<insert_message>(wide.bytes()).new_tuple.size() == 1600);
  }
  SECTION("lengths that are negative or beyond the message") {
    auto negative = message_builder('I').u32(1).u8('N').u16(1).u8('t').u32(0xffffffff).bytes();
    CHECK(decode_pgoutput(negative).error() == pgoutput_errc::bad_length);
    auto min = message_builder('I').u32(1).u8('N').u16(1).u8('b').u32(0x80000000).bytes();
    CHECK(decode_pgoutput(min).error() == pgoutput_errc::bad_length);
    auto huge = message_builder('I').u32(1).u8('N').u16(1).u8('t').u32(0x7fffffff).bytes();
    CHECK(decode_pgoutput(huge).error() == pgoutput_errc::truncated);
    auto content = message_builder('M').u8(0).u64(1).str("p").u32(0xfffffff0).bytes();
    CHECK(decode_pgoutput(content).error() == pgoutput_errc::bad_length);
    auto relations = message_builder('T').u32(0x80000000).u8(0).bytes();
    CHECK(decode_pgoutput(relations).error() == pgoutput_errc::bad_length);
    auto many = message_builder('T').u32(0x7fffffff).u8(0).u32(1).bytes();
    CHECK(decode_pgoutput(many).error() == pgoutput_errc::truncated);
  }
}

TEST_CASE("pgoutput errors have messages in their own category", "[pgoutput]") {
  boost::system::error_code ec = pgoutput_errc::bad_length;
  CHECK(ec.category().name() == std::string("fieldsync.pgoutput"));
  CHECK(ec.message() == "bad pgoutput length field");
  CHECK_FALSE(boost::system::error_code(pgoutput_errc::truncated).message().empty());
}

TEST_CASE("relation_cache keeps the latest definition per OID", "[pgoutput]") {
  relation_cache cache;
  CHECK(cache.find(16385) == nullptr);
  auto r = decode_as<relation_message>(sample_relation());
  cache.put(r);
  REQUIRE(cache.find(16385) != nullptr);
  CHECK(cache.find(16385)->columns.size() == 3);

  r.columns.pop_back();
  r.relname = "accounts_renamed";
  cache.put(r);
  CHECK(cache.find(16385)->columns.size() == 2);
  CHECK(cache.find(16385)->relname == "accounts_renamed");

  cache.clear();
  CHECK(cache.find(16385) == nullptr);
}
