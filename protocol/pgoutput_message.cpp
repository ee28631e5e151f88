#include "protocol/pgoutput_message.hpp"

#include <cstring>
#include <string_view>
#include <unordered_set>

namespace fieldsync::protocol {

namespace {

class pgoutput_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.pgoutput"; }
  std::string message(int ev) const override {
    switch (static_cast<pgoutput_errc>(ev)) {
      case pgoutput_errc::empty: return "empty pgoutput message";
      case pgoutput_errc::truncated: return "truncated pgoutput message";
      case pgoutput_errc::trailing_bytes: return "pgoutput message has trailing bytes";
      case pgoutput_errc::unknown_type: return "unknown pgoutput message type";
      case pgoutput_errc::bad_tuple_kind: return "bad pgoutput column value kind";
      case pgoutput_errc::bad_tuple_marker: return "bad pgoutput tuple marker";
      case pgoutput_errc::bad_string: return "pgoutput string without its terminating NUL";
      case pgoutput_errc::too_many_columns: return "pgoutput message with too many columns";
      case pgoutput_errc::duplicate_column:
        return "pgoutput relation naming a column twice";
      case pgoutput_errc::bad_length: return "bad pgoutput length field";
    }
    return "unknown pgoutput error";
  }
};

// PostgreSQL's MaxTupleAttributeNumber: no relation or tuple has more columns.
constexpr std::size_t max_columns = 1600;

// The pq_getmsg* functions of upstream as a bounded reader. The first failure sticks:
// later reads return zero values and read nothing, so a decoder reads its fields in
// order and checks once at the end; loops stop because a failed count reads as 0.
class message_reader {
 public:
  explicit message_reader(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}

  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(unsigned_be(1)); }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(unsigned_be(2)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(unsigned_be(4)); }
  std::int32_t i32() noexcept { return static_cast<std::int32_t>(u32()); }
  std::uint64_t u64() noexcept { return unsigned_be(8); }
  lsn read_lsn() noexcept { return lsn{u64()}; }
  pg_timestamp timestamp() noexcept { return static_cast<pg_timestamp>(u64()); }

  // pq_getmsgstring: up to the NUL, which must lie inside the message.
  std::string string() {
    if (failed()) return {};
    const auto* begin = bytes_.data() + pos_;
    const auto* nul = static_cast<const std::uint8_t*>(std::memchr(begin, 0, remaining()));
    if (nul == nullptr) {
      fail(pgoutput_errc::bad_string);
      return {};
    }
    std::string s(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(nul - begin));
    pos_ += s.size() + 1;
    return s;
  }

  // An Int32 length followed by that many bytes.
  std::string counted_bytes() {
    const std::int32_t n = i32();
    if (failed()) return {};
    if (n < 0) {
      fail(pgoutput_errc::bad_length);
      return {};
    }
    const auto size = static_cast<std::size_t>(n);
    if (size > remaining()) {
      fail(pgoutput_errc::truncated);
      return {};
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), size);
    pos_ += size;
    return s;
  }

  // A column count, checked against PostgreSQL's limit.
  std::size_t column_count() noexcept {
    const std::size_t n = u16();
    if (n > max_columns) fail(pgoutput_errc::too_many_columns);
    return failed() ? 0 : n;
  }

  void fail(pgoutput_errc e) noexcept {
    if (!failed()) error_ = e;
  }
  bool failed() const noexcept { return error_ != pgoutput_errc{}; }
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

  // The outcome once every field is read: the first failure, or bytes nobody read.
  std::optional<pgoutput_errc> finish() const noexcept {
    if (failed()) return error_;
    if (remaining() != 0) return pgoutput_errc::trailing_bytes;
    return std::nullopt;
  }

 private:
  std::uint64_t unsigned_be(std::size_t n) noexcept {
    if (failed()) return 0;
    if (remaining() < n) {
      fail(pgoutput_errc::truncated);
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | bytes_[pos_ + i];
    pos_ += n;
    return v;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  pgoutput_errc error_{};
};

// Protocol version 1 never sends the transaction id that streaming (version 2 and up)
// puts in front of Relation, Type, Insert, Update, Delete, Truncate and Message.

// logicalrep_read_begin
begin_message read_begin(message_reader& in) {
  begin_message m;
  m.final_lsn = in.read_lsn();
  m.commit_time = in.timestamp();
  m.xid = in.u32();
  return m;
}

// logicalrep_read_commit
commit_message read_commit(message_reader& in) {
  commit_message m;
  m.flags = in.u8();
  m.commit_lsn = in.read_lsn();
  m.end_lsn = in.read_lsn();
  m.commit_time = in.timestamp();
  return m;
}

// logicalrep_read_origin
origin_message read_origin(message_reader& in) {
  origin_message m;
  m.origin_lsn = in.read_lsn();
  m.name = in.string();
  return m;
}

// logicalrep_read_attrs
std::vector<relation_column> read_attrs(message_reader& in) {
  const std::size_t natts = in.column_count();
  std::vector<relation_column> columns;
  columns.reserve(natts);
  for (std::size_t i = 0; i < natts && !in.failed(); ++i) {
    relation_column c;
    c.is_key = (in.u8() & 1) != 0;  // LOGICALREP_IS_REPLICA_IDENTITY
    c.name = in.string();
    c.type = in.u32();
    c.type_modifier = in.i32();
    columns.push_back(std::move(c));
  }
  // A table's column names are unique; a relation naming one twice would let a change
  // carry that column both as a value and as an unchanged TOAST value.
  std::unordered_set<std::string_view> names;
  for (const auto& c : columns) {
    if (!names.insert(c.name).second) in.fail(pgoutput_errc::duplicate_column);
  }
  return columns;
}

// logicalrep_read_rel
relation_message read_rel(message_reader& in) {
  relation_message m;
  m.oid = in.u32();
  m.nspname = in.string();  // empty for pg_catalog
  m.relname = in.string();
  m.replica_identity = static_cast<char>(in.u8());
  m.columns = read_attrs(in);
  return m;
}

// logicalrep_read_typ
type_message read_typ(message_reader& in) {
  type_message m;
  m.oid = in.u32();
  m.nspname = in.string();
  m.name = in.string();
  return m;
}

// logicalrep_read_tuple
tuple_data read_tuple(message_reader& in) {
  const std::size_t natts = in.column_count();
  tuple_data tuple;
  tuple.reserve(natts);
  for (std::size_t i = 0; i < natts && !in.failed(); ++i) {
    tuple_value v;
    switch (in.u8()) {
      case 'n':  // LOGICALREP_COLUMN_NULL
        v.k = tuple_value::kind::null;
        break;
      case 'u':  // LOGICALREP_COLUMN_UNCHANGED
        v.k = tuple_value::kind::unchanged_toast;
        break;
      case 't':  // LOGICALREP_COLUMN_TEXT
        v.k = tuple_value::kind::text;
        v.data = in.counted_bytes();
        break;
      case 'b':  // LOGICALREP_COLUMN_BINARY
        v.k = tuple_value::kind::binary;
        v.data = in.counted_bytes();
        break;
      default:
        in.fail(pgoutput_errc::bad_tuple_kind);  // no-op when the read itself failed
        break;
    }
    tuple.push_back(std::move(v));
  }
  return tuple;
}

// logicalrep_read_insert
insert_message read_insert(message_reader& in) {
  insert_message m;
  m.relation_oid = in.u32();
  if (in.u8() != 'N') in.fail(pgoutput_errc::bad_tuple_marker);
  m.new_tuple = read_tuple(in);
  return m;
}

// logicalrep_read_update
update_message read_update(message_reader& in) {
  update_message m;
  m.relation_oid = in.u32();
  std::uint8_t action = in.u8();
  if (action == 'K' || action == 'O') {
    m.old_is_key_only = action == 'K';
    m.old_tuple = read_tuple(in);
    action = in.u8();
  }
  if (action != 'N') in.fail(pgoutput_errc::bad_tuple_marker);
  m.new_tuple = read_tuple(in);
  return m;
}

// logicalrep_read_delete
delete_message read_delete(message_reader& in) {
  delete_message m;
  m.relation_oid = in.u32();
  const std::uint8_t action = in.u8();
  if (action != 'K' && action != 'O') in.fail(pgoutput_errc::bad_tuple_marker);
  m.old_is_key_only = action == 'K';
  m.old_tuple = read_tuple(in);
  return m;
}

// logicalrep_read_truncate
truncate_message read_truncate(message_reader& in) {
  truncate_message m;
  const std::int32_t nrelids = in.i32();
  m.options = in.u8();
  if (in.failed()) return m;
  if (nrelids < 0) {
    in.fail(pgoutput_errc::bad_length);
    return m;
  }
  // Check the count against what is left before reserving for it.
  if (static_cast<std::size_t>(nrelids) > in.remaining() / 4) {
    in.fail(pgoutput_errc::truncated);
    return m;
  }
  m.relation_oids.reserve(static_cast<std::size_t>(nrelids));
  for (std::int32_t i = 0; i < nrelids; ++i) m.relation_oids.push_back(in.u32());
  return m;
}

// Upstream has only the writer, logicalrep_write_message.
logical_message read_message(message_reader& in) {
  logical_message m;
  m.transactional = (in.u8() & 1) != 0;  // MESSAGE_TRANSACTIONAL
  m.message_lsn = in.read_lsn();
  m.prefix = in.string();
  m.content = in.counted_bytes();
  return m;
}

template <typename Message>
boost::system::result<pgoutput_message> finish(const message_reader& in, Message&& m) {
  if (auto e = in.finish()) return *e;
  return pgoutput_message{std::forward<Message>(m)};
}

}  // namespace

const boost::system::error_category& pgoutput_category() noexcept {
  static const pgoutput_category_impl instance;
  return instance;
}

boost::system::result<pgoutput_message> decode_pgoutput(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return pgoutput_errc::empty;
  message_reader in(bytes.subspan(1));
  switch (bytes[0]) {
    case 'B': return finish(in, read_begin(in));
    case 'C': return finish(in, read_commit(in));
    case 'O': return finish(in, read_origin(in));
    case 'R': return finish(in, read_rel(in));
    case 'Y': return finish(in, read_typ(in));
    case 'I': return finish(in, read_insert(in));
    case 'U': return finish(in, read_update(in));
    case 'D': return finish(in, read_delete(in));
    case 'T': return finish(in, read_truncate(in));
    case 'M': return finish(in, read_message(in));
    default:
      // Includes the streaming and two-phase messages of later protocol versions, which
      // fieldsync never asks for.
      return pgoutput_errc::unknown_type;
  }
}

void relation_cache::put(relation_message r) {
  const auto oid = r.oid;
  relations_.insert_or_assign(oid, std::move(r));
}

const relation_message* relation_cache::find(std::uint32_t oid) const noexcept {
  auto it = relations_.find(oid);
  return it == relations_.end() ? nullptr : &it->second;
}

}  // namespace fieldsync::protocol
