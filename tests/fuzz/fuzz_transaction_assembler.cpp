// libFuzzer target: the transaction assembler (protocol/transaction_assembler.hpp) fed any
// sequence of pgoutput messages. The input is a series of messages, each a 2-byte big-endian
// length and that many bytes (decode_pgoutput; undecodable ones are skipped), against a
// fixed schema: three of the tables of the golden captures (tests/fixtures/pgoutput), one of
// them with only some of its columns synced. Whatever the order, the assembler gives
// events or its own error codes, and what it hands out is consistent.
#include "protocol/transaction_assembler.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

using namespace fieldsync::protocol;

namespace {

column_schema col(const char* name, type_oid type) { return {name, describe_type(type), false, false}; }

std::vector<collection_schema> schema() {
  collection_schema every;  // a few of every_type's columns, each of another type class
  every.name = "every_type";
  every.schema_name = "public";
  every.table_name = "every_type";
  every.primary_key = {"id"};
  every.columns = {col("id", oids::int4),          col("c_bool", oids::bool_),
                   col("c_bytea", oids::bytea),    col("c_int8", oids::int8),
                   col("c_float4", oids::float4),  col("c_numeric", oids::numeric),
                   col("c_timestamptz", oids::timestamptz), col("c_interval", oids::interval),
                   col("c_jsonb", oids::jsonb),    col("c_uuid", oids::uuid),
                   col("a_text", 1009),            col("a_timestamp", 1115)};
  collection_schema notes;
  notes.name = "notes";
  notes.schema_name = "public";
  notes.table_name = "notes";
  notes.primary_key = {"id"};
  notes.columns = {col("id", oids::int8), col("title", oids::text), col("body", oids::text)};
  collection_schema keyed;
  keyed.name = "keyed";
  keyed.schema_name = "public";
  keyed.table_name = "keyed";
  keyed.primary_key = {"k1", "k2"};
  keyed.columns = {col("k1", oids::int4), col("k2", oids::text), col("v", oids::text)};
  return {every, notes, keyed};
}

const std::vector<collection_schema>& collections() {
  static const auto s = schema();
  return s;
}

bool synced(const collection_schema& c, const std::string& column) {
  return c.find(column) != nullptr;
}

void check(const row_change& c) {
  const auto it = std::find_if(collections().begin(), collections().end(),
                               [&](const auto& s) { return s.name == c.collection; });
  if (it == collections().end()) __builtin_trap();
  if (c.op == change_op::truncate) return;
  if (c.key.empty()) __builtin_trap();
  for (const auto& kv : c.row) {
    if (!synced(*it, std::string(kv.key()))) __builtin_trap();
  }
  for (const auto& name : c.missing) {
    if (!synced(*it, name) || c.row.contains(name)) __builtin_trap();
  }
  for (const auto& name : c.changed) {
    if (!c.row.contains(name)) __builtin_trap();
  }
  if (c.old_row && c.op != change_op::update) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A small limit, so that large transactions are handed out in pieces.
  transaction_assembler a(collections(), 4096);
  std::span<const std::uint8_t> in(data, size);
  while (in.size() >= 2) {
    const std::size_t n = std::min<std::size_t>((std::size_t{in[0]} << 8) | in[1], in.size() - 2);
    auto m = decode_pgoutput(in.subspan(2, n));
    in = in.subspan(2 + n);
    if (!m) continue;
    auto r = a.feed(*m);
    if (!r) {
      if (r.error().category() != assembler_category()) __builtin_trap();
      if (r.error() == assembler_errc::bad_value && !a.last_failure()) __builtin_trap();
      continue;
    }
    switch (*r) {
      case transaction_assembler::event::none:
        // Odd transactions drop one collection, as the ingest does for one being copied.
        if (const auto* b = std::get_if<begin_message>(&*m); b && b->xid % 2 == 1) {
          a.exclude_collections({"keyed"});
        }
        break;
      case transaction_assembler::event::committed: {
        if (a.in_transaction()) __builtin_trap();
        for (const auto& c : a.take_transaction().changes) check(c);
        break;
      }
      case transaction_assembler::event::over_limit:
        if (!a.in_transaction()) __builtin_trap();
        for (const auto& c : a.take_changes()) check(c);
        if (!a.spilled()) __builtin_trap();
        break;
      case transaction_assembler::event::heartbeat:
        if (a.in_transaction()) __builtin_trap();
        break;
    }
  }
  (void)a.take_identity_warnings();
  return 0;
}
