#pragma once
// The messages of PostgreSQL's pgoutput plugin, protocol version 1 with `messages 'true'`
// (PostgreSQL docs, "Logical Replication Message Formats"; upstream
// src/backend/replication/logical/proto.c). Pure: bytes in, values or error codes out.
// Every read is bounds-checked; wire data never reaches an assert.

#include "protocol/lsn.hpp"
#include "protocol/pg_type.hpp"
#include "protocol/walsender_message.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace fieldsync::protocol {

enum class pgoutput_errc {
  empty = 1,         // no message type byte
  truncated,         // the message ends before its fields do
  trailing_bytes,    // bytes left after the last field
  unknown_type,      // a message type protocol 1 does not have
  bad_tuple_kind,    // a column value that is not 'n', 'u', 't' or 'b'
  bad_tuple_marker,  // an Update/Delete without its 'K'/'O'/'N' marker
  bad_string,        // a String field without its terminating NUL
  too_many_columns,  // over the 1,600 columns PostgreSQL allows
  bad_length,        // a negative or oversized length field
  duplicate_column,  // a Relation naming one column twice (a table's names are unique)
};

const boost::system::error_category& pgoutput_category() noexcept;
inline boost::system::error_code make_error_code(pgoutput_errc e) noexcept {
  return {static_cast<int>(e), pgoutput_category()};
}

// One column value of a TupleData. unchanged_toast ('u') is not NULL: the value was not
// logged because it did not change and is stored out of line; it must be filled from an
// earlier version of the row, never written as NULL.
struct tuple_value {
  enum class kind : std::uint8_t { null, unchanged_toast, text, binary };
  kind k = kind::null;
  std::string data;  // text (or binary) for kind::text / kind::binary
};
using tuple_data = std::vector<tuple_value>;

struct relation_column {
  bool is_key = false;  // part of the replica identity
  std::string name;
  type_oid type = 0;
  std::int32_t type_modifier = -1;
};

// 'R': sent before the first change of a relation in a session and after its definition
// changed. Replaces the cached definition.
struct relation_message {
  std::uint32_t oid = 0;
  std::string nspname;
  std::string relname;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<relation_column> columns;
};

struct begin_message {  // 'B'
  lsn final_lsn;  // the commit's LSN
  pg_timestamp commit_time = 0;
  std::uint32_t xid = 0;
};

struct commit_message {  // 'C'
  std::uint8_t flags = 0;
  lsn commit_lsn;
  lsn end_lsn;  // the end of the commit record: what to confirm once stored
  pg_timestamp commit_time = 0;
};

struct origin_message {  // 'O'
  lsn origin_lsn;
  std::string name;
};

struct type_message {  // 'Y'
  type_oid oid = 0;
  std::string nspname;
  std::string name;
};

struct insert_message {  // 'I'
  std::uint32_t relation_oid = 0;
  tuple_data new_tuple;
};

struct update_message {  // 'U'
  std::uint32_t relation_oid = 0;
  // 'O' (REPLICA IDENTITY FULL: the whole old row) or 'K' (the old key), when present.
  std::optional<tuple_data> old_tuple;
  bool old_is_key_only = false;
  tuple_data new_tuple;
};

struct delete_message {  // 'D'
  std::uint32_t relation_oid = 0;
  tuple_data old_tuple;
  bool old_is_key_only = false;
};

struct truncate_message {  // 'T'
  std::uint8_t options = 0;  // 1: CASCADE, 2: RESTART IDENTITY
  std::vector<std::uint32_t> relation_oids;
};

struct logical_message {  // 'M' (pg_logical_emit_message)
  bool transactional = false;
  lsn message_lsn;
  std::string prefix;
  std::string content;
};

using pgoutput_message =
    std::variant<begin_message, commit_message, origin_message, relation_message,
                 type_message, insert_message, update_message, delete_message,
                 truncate_message, logical_message>;

// Decodes one pgoutput message (the payload of one XLogData).
boost::system::result<pgoutput_message> decode_pgoutput(std::span<const std::uint8_t> bytes);

// The relation definitions of one replication session, by OID. Each Relation message
// replaces its entry; a change for an OID not in the cache is a protocol error.
class relation_cache {
 public:
  void put(relation_message r);
  const relation_message* find(std::uint32_t oid) const noexcept;
  void clear() noexcept { relations_.clear(); }

 private:
  std::unordered_map<std::uint32_t, relation_message> relations_;
};

}  // namespace fieldsync::protocol

template <>
struct boost::system::is_error_code_enum<fieldsync::protocol::pgoutput_errc> : std::true_type {};
