// The decoder and the value conversion against real PostgreSQL 15 output: the captures of
// tests/fixtures/pgoutput (capture.sql says what they hold).
#include "pgoutput_fixture.hpp"
#include "protocol/pgoutput_message.hpp"
#include "protocol/value_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace fieldsync::protocol;
using fieldsync::test::read_fixture;
namespace json = boost::json;

namespace {

std::vector<pgoutput_message> decode_all(const std::string& fixture) {
  std::vector<pgoutput_message> out;
  for (const auto& m : read_fixture(fixture)) {
    auto r = decode_pgoutput(m.bytes);
    if (!r) FAIL("message at " << m.lsn << " does not decode: " << r.error().message());
    out.push_back(std::move(*r));
  }
  return out;
}

template <typename T>
std::vector<T> all_of(const std::vector<pgoutput_message>& messages) {
  std::vector<T> out;
  for (const auto& m : messages) {
    if (const auto* p = std::get_if<T>(&m)) out.push_back(*p);
  }
  return out;
}

const relation_message& relation_named(const std::vector<pgoutput_message>& messages,
                                       const std::string& name) {
  for (const auto& m : messages) {
    if (const auto* r = std::get_if<relation_message>(&m); r && r->relname == name) return *r;
  }
  FAIL("no Relation message for " << name);
  throw std::logic_error("unreachable");
}

// A decoded row as JSON, column by column; 'u' becomes the string "<unchanged>".
json::object row_json(const relation_message& rel, const tuple_data& tuple) {
  REQUIRE(tuple.size() == rel.columns.size());
  json::object row;
  for (std::size_t i = 0; i < tuple.size(); ++i) {
    const auto& column = rel.columns[i];
    const auto& v = tuple[i];
    switch (v.k) {
      case tuple_value::kind::null:
        row[column.name] = nullptr;
        break;
      case tuple_value::kind::unchanged_toast:
        row[column.name] = "<unchanged>";
        break;
      case tuple_value::kind::binary:
        FAIL("binary value in a text capture");
        break;
      case tuple_value::kind::text: {
        auto j = text_to_json(describe_type(column.type), v.data);
        if (!j) FAIL("column " << column.name << ": " << v.data << ": " << j.error().message());
        row[column.name] = *j;
      }
    }
  }
  return row;
}

void check_row(const json::object& actual, const std::string& expected_text) {
  const auto expected = json::parse(expected_text).as_object();
  for (const auto& [column, value] : expected) {
    INFO("column " << std::string_view(column));
    REQUIRE(actual.contains(column));
    // Serialized, so that an integer where a double is expected (or back) shows up too.
    CHECK(json::serialize(actual.at(column)) == json::serialize(value));
  }
}

// Row 1 of every_type (capture.sql), as fieldsync hands it to clients.
constexpr const char* ordinary_row = R"json({
  "id": 1, "c_bool": true, "c_bytea": "\\x0aff", "c_char": "a", "c_name": "fieldsync",
  "c_int8": "9007199254740993", "c_int2": -32768, "c_int4": 2147483647,
  "c_text": "Grüße, \"quoted\" \\ back", "c_oid": 4294967295,
  "c_json": "{\"b\": [1, 2.5, \"x\"], \"a\": null}",
  "c_float4": 0.1, "c_float8": 0.1, "c_bpchar": "ab   ", "c_varchar": "varchar",
  "c_date": "2026-11-25", "c_time": "11:04:51.5", "c_timestamp": "2026-11-25T11:04:51.5",
  "c_timestamptz": "2026-11-25T11:04:51.123456Z", "c_interval": "P1Y2M3DT4H5M6.5S",
  "c_timetz": "11:04:51.5+05:30", "c_numeric": "12.50",
  "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "c_jsonb": "{\"a\": null, \"b\": [1, 2.5, \"x\"]}",
  "a_bool": [true, false, null], "a_bytea": ["\\x00", "\\xdeadbeef"], "a_char": ["a", "b"],
  "a_name": ["x", "y z"], "a_int2": [1, -2], "a_int4": [[1, 2], [3, 4]],
  "a_text": ["plain", "with,comma", "with \"quote\"", "back\\slash", "", "NULL", null,
             " spaced ", "ünï©ødé", "{braces}"],
  "a_bpchar": ["ab ", "c  "], "a_varchar": ["x"],
  "a_int8": ["-9223372036854775808", "9223372036854775807"],
  "a_float4": [1.5, "NaN", "-Infinity"], "a_float8": [0.1, 1e-7, 1e300, "Infinity"],
  "a_oid": [0, 4294967295], "a_json": ["{\"a\": 1}", "[1, \"x\"]", "null"],
  "a_timestamp": ["2026-11-25T11:04:51.5", "infinity"], "a_date": ["2026-11-25", "-infinity"],
  "a_time": ["00:00:00", "23:59:59.999999"],
  "a_timestamptz": ["2026-11-25T11:04:51Z", "2025-12-31T22:30:00Z"],
  "a_interval": ["P1D", "PT-1H"],
  "a_numeric": ["0.1", 0.5, "12.50", "0.0000001", "123456789012345678901234567890.123", "NaN"],
  "a_timetz": ["11:04:51+00"], "a_uuid": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
  "a_jsonb": ["{\"k\": \"v\"}", "\"str\""], "c_mood": "happy", "c_range": "[1,10)"
})json";

// Row 2: extremes, specials and empties.
constexpr const char* edge_row = R"json({
  "id": 2, "c_bool": false, "c_bytea": "\\x", "c_char": "", "c_name": "",
  "c_int8": "-9223372036854775808", "c_int2": 32767, "c_int4": -2147483648, "c_text": "",
  "c_oid": 0, "c_json": "[]", "c_float4": "NaN", "c_float8": "-Infinity", "c_bpchar": "     ",
  "c_varchar": "", "c_date": "infinity", "c_time": "24:00:00", "c_timestamp": "-infinity",
  "c_timestamptz": "infinity", "c_interval": "PT0S", "c_timetz": "00:00:00-03:30",
  "c_numeric": "NaN", "c_uuid": "00000000-0000-0000-0000-000000000000",
  "c_jsonb": "\"é \\\\ \\\"\"", "a_bool": [], "a_int2": "[0:1]={5,6}", "a_text": [""], "a_jsonb": [],
  "c_mood": "sad", "c_range": "empty"
})json";

// Row 3: eras and numerics at the edge of what a double holds.
constexpr const char* era_row = R"json({
  "id": 3, "c_date": "-000043-03-15", "c_timestamp": "-000043-03-15T11:04:51",
  "c_timestamptz": "+000000-12-31T23:30:00Z", "c_numeric": "1152921504606846976",
  "c_float4": 3.4028235e38, "c_float8": 5e-324, "c_interval": "P-1DT-1.5S",
  "a_numeric": [0, -0.5, "9007199254740993", "10000000000000000000000", -12.25], "c_text": null, "a_int4": null
})json";

}  // namespace

TEST_CASE("golden: every message of the capture decodes", "[pgoutput][golden]") {
  auto messages = decode_all("messages.hex");
  std::set<std::size_t> kinds;
  for (const auto& m : messages) kinds.insert(m.index());
  CHECK(kinds.size() == std::variant_size_v<pgoutput_message>);
}

TEST_CASE("golden: transactions are framed by Begin and Commit", "[pgoutput][golden]") {
  auto fixture = read_fixture("messages.hex");
  auto messages = decode_all("messages.hex");
  std::optional<begin_message> open;
  std::size_t transactions = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    INFO("message " << i << " at " << fixture[i].lsn);
    if (const auto* b = std::get_if<begin_message>(&m)) {
      REQUIRE_FALSE(open);
      open = *b;
      CHECK(b->xid == fixture[i].xid);
      // Plausible commit times: after 2020-01-01.
      CHECK(b->commit_time > 631'152'000'000'000);
    } else if (const auto* c = std::get_if<commit_message>(&m)) {
      REQUIRE(open);
      CHECK(c->flags == 0);
      CHECK(c->commit_lsn == open->final_lsn);
      CHECK(c->end_lsn > c->commit_lsn);
      CHECK(c->end_lsn.to_string() == fixture[i].lsn);  // what the slot reports
      CHECK(c->commit_time == open->commit_time);
      open.reset();
      ++transactions;
    } else if (const auto* lm = std::get_if<logical_message>(&m)) {
      CHECK(lm->transactional == open.has_value());
    } else {
      CHECK(open);
    }
  }
  CHECK_FALSE(open);
  CHECK(transactions == 17);
}

TEST_CASE("golden: Relation and Type messages", "[pgoutput][golden]") {
  auto messages = decode_all("messages.hex");
  const auto& every = relation_named(messages, "every_type");
  CHECK(every.nspname == "public");
  CHECK(every.replica_identity == 'f');
  REQUIRE(every.columns.size() == 49);
  for (const auto& c : every.columns) {
    INFO(c.name);
    CHECK(c.is_key);  // REPLICA IDENTITY FULL: every column identifies the row
    const auto type = describe_type(c.type);
    if (c.name.starts_with("c_") && c.name != "c_mood" && c.name != "c_range") {
      CHECK(type.name == c.name.substr(2));
    } else if (c.name.starts_with("a_")) {
      CHECK(type.cls == type_class::array);
      CHECK(type.name == c.name.substr(2) + "[]");
      CHECK(describe_type(type.element_oid).cls == type.element);
    }
  }
  CHECK(every.columns[14].name == "c_varchar");
  CHECK(every.columns[14].type_modifier == 20 + 4);  // varchar(20): VARHDRSZ included

  auto types = all_of<type_message>(messages);
  REQUIRE(types.size() == 2);  // sent again in the truncating transaction
  CHECK(types[0].nspname == "public");
  CHECK(types[0].name == "mood");
  CHECK(every.columns[47].type == types[0].oid);
  CHECK(describe_type(types[0].oid).cls == type_class::other);

  const auto& keyed = relation_named(messages, "keyed");
  CHECK(keyed.replica_identity == 'd');
  REQUIRE(keyed.columns.size() == 3);
  CHECK(keyed.columns[0].is_key);
  CHECK(keyed.columns[1].is_key);
  CHECK_FALSE(keyed.columns[2].is_key);

  // After ALTER TABLE the relation is sent again, and the cache takes the new definition.
  relation_cache cache;
  for (const auto& r : all_of<relation_message>(messages)) cache.put(r);
  REQUIRE(cache.find(keyed.oid));
  CHECK(cache.find(keyed.oid)->columns.size() == 4);
  CHECK(cache.find(keyed.oid)->columns[3].name == "extra");
}

TEST_CASE("golden: every type's text converts to its JSON", "[pgoutput][golden][value]") {
  auto messages = decode_all("messages.hex");
  const auto& every = relation_named(messages, "every_type");
  std::vector<json::object> rows;
  for (const auto& i : all_of<insert_message>(messages)) {
    if (i.relation_oid == every.oid) rows.push_back(row_json(every, i.new_tuple));
  }
  REQUIRE(rows.size() == 4);
  SECTION("ordinary values") {
    check_row(rows[0], ordinary_row);
  }
  SECTION("extremes and specials") {
    check_row(rows[1], edge_row);
  }
  SECTION("eras and numerics") {
    check_row(rows[2], era_row);
  }
  SECTION("all NULL") {
    for (const auto& [column, value] : rows[3]) {
      if (column != "id") CHECK(value.is_null());
    }
  }
}

TEST_CASE("golden: Update and Delete carry the old row", "[pgoutput][golden]") {
  auto messages = decode_all("messages.hex");
  const auto& every = relation_named(messages, "every_type");
  const auto& keyed = relation_named(messages, "keyed");
  const auto& notes = relation_named(messages, "notes");
  auto updates = all_of<update_message>(messages);
  auto deletes = all_of<delete_message>(messages);
  REQUIRE(updates.size() == 4);
  REQUIRE(deletes.size() == 2);

  SECTION("REPLICA IDENTITY FULL: the whole old row") {
    const auto& u = updates[0];
    CHECK(u.relation_oid == every.oid);
    REQUIRE(u.old_tuple);
    CHECK_FALSE(u.old_is_key_only);
    auto before = row_json(every, *u.old_tuple);
    auto after = row_json(every, u.new_tuple);
    CHECK(before.at("c_text") == "Grüße, \"quoted\" \\ back");
    CHECK(after.at("c_text") == "changed");
    CHECK(after.at("c_int4") == 7);
    CHECK(before.at("a_text") == after.at("a_text"));

    CHECK(deletes[0].relation_oid == every.oid);
    CHECK_FALSE(deletes[0].old_is_key_only);
    CHECK(row_json(every, deletes[0].old_tuple).at("id") == 4);
  }
  SECTION("an unchanged TOASTed value is 'u', not NULL") {
    const auto& u = updates[1];
    CHECK(u.relation_oid == notes.oid);
    REQUIRE(u.new_tuple.size() == 3);
    CHECK(u.new_tuple[1].data == "renamed");
    CHECK(u.new_tuple[2].k == tuple_value::kind::unchanged_toast);
    // The old row of REPLICA IDENTITY FULL has the value itself.
    REQUIRE(u.old_tuple);
    CHECK((*u.old_tuple)[2].k == tuple_value::kind::text);
    CHECK((*u.old_tuple)[2].data.size() == 6400);
  }
  SECTION("default identity: no old row, or the old key") {
    CHECK(updates[2].relation_oid == keyed.oid);
    CHECK_FALSE(updates[2].old_tuple);
    REQUIRE(updates[3].old_tuple);
    CHECK(updates[3].old_is_key_only);
    auto old_key = row_json(keyed, *updates[3].old_tuple);
    CHECK(old_key.at("k2") == "a");
    CHECK(old_key.at("v").is_null());  // not part of the key: sent as 'n'
    CHECK(row_json(keyed, updates[3].new_tuple).at("k2") == "b");
    CHECK(deletes[1].old_is_key_only);
    CHECK(row_json(keyed, deletes[1].old_tuple).at("k2") == "b");
  }
}

TEST_CASE("golden: Message, Origin and Truncate", "[pgoutput][golden]") {
  auto messages = decode_all("messages.hex");
  auto logical = all_of<logical_message>(messages);
  REQUIRE(logical.size() == 2);
  CHECK(logical[0].transactional);
  CHECK(logical[0].prefix == "fieldsync");
  auto origin_info = json::parse(logical[0].content);
  CHECK(origin_info.at("client_id") == "c1");
  CHECK(logical[1].prefix == "fieldsync");
  CHECK_FALSE(logical[1].transactional);
  CHECK(logical[1].content == "not in a transaction");
  CHECK(logical[0].message_lsn < logical[1].message_lsn);

  auto origins = all_of<origin_message>(messages);
  REQUIRE(origins.size() == 1);
  CHECK(origins[0].name == "fieldsync_origin");
  CHECK(origins[0].origin_lsn.to_string() == "0/1234ABCD");

  auto truncates = all_of<truncate_message>(messages);
  REQUIRE(truncates.size() == 2);
  CHECK(truncates[0].options == 3);  // CASCADE | RESTART IDENTITY
  CHECK(truncates[0].relation_oids ==
        std::vector<std::uint32_t>{relation_named(messages, "keyed").oid,
                                   relation_named(messages, "notes").oid});
  CHECK(truncates[1].options == 0);
  CHECK(truncates[1].relation_oids ==
        std::vector<std::uint32_t>{relation_named(messages, "every_type").oid});
}

TEST_CASE("golden: binary column values", "[pgoutput][golden]") {
  auto text = decode_all("messages.hex");
  auto binary = decode_all("messages_binary.hex");
  REQUIRE(binary.size() == text.size());
  for (std::size_t i = 0; i < text.size(); ++i) CHECK(binary[i].index() == text[i].index());

  auto inserts = all_of<insert_message>(binary);
  const auto& first = inserts.front().new_tuple;
  REQUIRE(first[0].k == tuple_value::kind::binary);
  CHECK(first[0].data == std::string("\0\0\0\1", 4));  // int4send of id 1
  CHECK(first[1].data == std::string("\1", 1));        // boolsend of true
  auto updates = all_of<update_message>(binary);
  CHECK(updates[1].new_tuple[2].k == tuple_value::kind::unchanged_toast);
}

TEST_CASE("golden: every truncation of every captured message is an error",
          "[pgoutput][golden][malformed]") {
  for (const auto* name : {"messages.hex", "messages_binary.hex"}) {
    for (const auto& m : read_fixture(name)) {
      for (std::size_t n = 0; n < m.bytes.size(); ++n) {
        auto r = decode_pgoutput(std::span(m.bytes).first(n));
        if (r) FAIL(name << " at " << m.lsn << ": the first " << n << " bytes decode");
      }
      auto longer = m.bytes;
      longer.push_back('x');
      CHECK(decode_pgoutput(longer).error() == pgoutput_errc::trailing_bytes);
    }
  }
}

// roundtrip.tsv holds, for every captured value of every_type, the text json_to_text gives
// back (PostgreSQL's own text again) and the JSON clients get; capture.sh checks that
// PostgreSQL accepts each text and reads the same value from it.
// FIELDSYNC_WRITE_ROUNDTRIP=1 rewrites it (then run capture.sh --check-only).
TEST_CASE("golden: values come back as text PostgreSQL reads the same",
          "[pgoutput][golden][value]") {
  auto messages = decode_all("messages.hex");
  const auto& every = relation_named(messages, "every_type");
  std::ostringstream tsv;
  for (const auto& i : all_of<insert_message>(messages)) {
    if (i.relation_oid != every.oid) continue;
    for (std::size_t c = 0; c < i.new_tuple.size(); ++c) {
      const auto& v = i.new_tuple[c];
      if (v.k != tuple_value::kind::text) continue;
      const auto type = describe_type(every.columns[c].type);
      INFO(every.columns[c].name << ": " << v.data);
      auto j = text_to_json(type, v.data);
      REQUIRE(j);
      auto back = json_to_text(type, *j);
      REQUIRE(back);
      // PostgreSQL's own text comes back, byte for byte (what the Shape API hands out).
      CHECK(*back == v.data);
      // And JSON -> text -> JSON is the identity.
      auto again = text_to_json(type, *back);
      REQUIRE(again);
      CHECK(json::serialize(*again) == json::serialize(*j));
      tsv << every.columns[c].name << '\t' << fieldsync::test::to_hex(v.data) << '\t'
          << fieldsync::test::to_hex(*back) << '\t' << json::serialize(*j) << '\n';
    }
  }
  const auto path = fieldsync::test::fixture_path("roundtrip.tsv");
  if (std::getenv("FIELDSYNC_WRITE_ROUNDTRIP")) {
    std::ofstream(path, std::ios::binary) << tsv.str();
    WARN("rewrote " << path << ": run capture.sh --check-only");
  }
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream committed;
  committed << in.rdbuf();
  CHECK(committed.str() == tsv.str());
}
