#include "protocol/transaction_assembler.hpp"

#include "protocol/origin_message.hpp"
#include "protocol/row_key.hpp"
#include "protocol/value_json.hpp"

#include <algorithm>
#include <utility>

namespace fieldsync::protocol {

namespace json = boost::json;
using protocol::change_op;
using protocol::tuple_value;

namespace {

class assembler_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.assembler"; }
  std::string message(int ev) const override {
    switch (static_cast<assembler_errc>(ev)) {
      case assembler_errc::change_outside_transaction: return "a change outside a transaction";
      case assembler_errc::nested_begin: return "a Begin inside an open transaction";
      case assembler_errc::unknown_relation: return "a change for an undescribed relation";
      case assembler_errc::commit_mismatch: return "a Commit that does not match its Begin";
      case assembler_errc::bad_value: return "a column value that does not parse as its type";
      case assembler_errc::binary_value: return "a binary column value";
      case assembler_errc::bad_tuple: return "a tuple that does not match its relation";
      case assembler_errc::missing_key: return "a row without its primary key";
    }
    return "unknown assembler error";
  }
};

// What one change costs in memory, roughly: its values twice (text in, JSON out) plus the
// bookkeeping. Only used against the limit, so it errs on the generous side.
std::size_t tuple_bytes(const protocol::tuple_data* t) {
  if (!t) return 0;
  std::size_t n = 0;
  for (const auto& v : *t) n += 2 * v.data.size() + 48;
  return n;
}

}  // namespace

const boost::system::error_category& assembler_category() noexcept {
  static const assembler_category_impl instance;
  return instance;
}

transaction_assembler::transaction_assembler(std::vector<collection_schema> collections,
                                             std::size_t max_bytes)
    : collections_(std::move(collections)), max_bytes_(max_bytes) {
  for (const auto& c : collections_) by_table_[c.schema_name + "." + c.table_name] = &c;
}

boost::system::result<transaction_assembler::event> transaction_assembler::feed(
    const protocol::pgoutput_message& message) {
  return std::visit(
      [this](const auto& m) -> boost::system::result<event> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::begin_message>) {
          if (open_) return assembler_errc::nested_begin;
          open_ = true;
          spilled_ = false;
          txn_ = transaction{};
          txn_.commit_lsn = m.final_lsn;
          txn_.commit_time = m.commit_time;
          txn_.xid = m.xid;
          txn_bytes_ = 0;
          origins_ = {};
          excluded_.clear();
          return event::none;
        } else if constexpr (std::is_same_v<T, protocol::commit_message>) {
          if (!open_) return assembler_errc::change_outside_transaction;
          if (m.commit_lsn != txn_.commit_lsn) return assembler_errc::commit_mismatch;
          txn_.end_lsn = m.end_lsn;
          txn_.commit_time = m.commit_time;
          open_ = false;
          return event::committed;
        } else if constexpr (std::is_same_v<T, protocol::relation_message>) {
          return on_relation(m);
        } else if constexpr (std::is_same_v<T, protocol::insert_message>) {
          return on_change(m.relation_oid, change_op::insert, nullptr, false, &m.new_tuple);
        } else if constexpr (std::is_same_v<T, protocol::update_message>) {
          return on_change(m.relation_oid, change_op::update,
                           m.old_tuple ? &*m.old_tuple : nullptr, m.old_is_key_only,
                           &m.new_tuple);
        } else if constexpr (std::is_same_v<T, protocol::delete_message>) {
          return on_change(m.relation_oid, change_op::remove, &m.old_tuple, m.old_is_key_only,
                           nullptr);
        } else if constexpr (std::is_same_v<T, protocol::truncate_message>) {
          return on_truncate(m);
        } else if constexpr (std::is_same_v<T, protocol::logical_message>) {
          return on_message(m);
        } else {
          // Origin (changes replicated from elsewhere keep flowing as ours) and Type
          // (fieldsync treats unknown types as text) need nothing.
          return event::none;
        }
      },
      message);
}

boost::system::result<transaction_assembler::event> transaction_assembler::on_relation(
    const protocol::relation_message& m) {
  route r;
  auto it = by_table_.find(m.nspname + "." + m.relname);
  if (it != by_table_.end()) {
    r.collection = it->second;
    r.column_slot.reserve(m.columns.size());
    for (const auto& col : m.columns) {
      int slot = -1;
      for (std::size_t i = 0; i < r.collection->columns.size(); ++i) {
        if (r.collection->columns[i].name == col.name) slot = static_cast<int>(i);
      }
      r.column_slot.push_back(slot);
      // The collection's type (read from the catalog, domains by their base type), not
      // the message's: the copy used it too, and a value must read the same on both paths.
      r.types.push_back(slot >= 0 ? r.collection->columns[static_cast<std::size_t>(slot)].type
                                  : protocol::describe_type(col.type));
    }
    if (m.replica_identity != 'f') {
      auto name = m.nspname + "." + m.relname;
      if (std::find(warned_.begin(), warned_.end(), name) == warned_.end()) {
        warned_.push_back(name);
        identity_warnings_.push_back(name);
      }
    }
  }
  routes_[m.oid] = std::move(r);
  relations_.put(m);
  return event::none;
}

boost::system::result<transaction_assembler::event> transaction_assembler::on_change(
    std::uint32_t relation_oid, change_op op, const protocol::tuple_data* old_tuple,
    bool old_is_key_only, const protocol::tuple_data* new_tuple) {
  if (!open_) return assembler_errc::change_outside_transaction;
  const auto* rel = relations_.find(relation_oid);
  auto rit = routes_.find(relation_oid);
  if (!rel || rit == routes_.end()) return assembler_errc::unknown_relation;
  const route& r = rit->second;
  if (!r.collection) return event::none;  // published, but not (or no longer) a collection
  if (is_excluded(r.collection->name)) return event::none;
  const auto ncols = rel->columns.size();
  if ((old_tuple && old_tuple->size() != ncols) || (new_tuple && new_tuple->size() != ncols)) {
    return assembler_errc::bad_tuple;
  }

  row_change change;
  change.collection = r.collection->name;
  change.op = op;

  // Converts one tuple into a row; `fallback` fills unchanged-TOAST values.
  auto convert = [&](const protocol::tuple_data& t, const protocol::tuple_data* fallback,
                     bool key_only, json::object& out) -> boost::system::error_code {
    out.reserve(r.collection->columns.size());
    for (std::size_t i = 0; i < ncols; ++i) {
      int slot = r.column_slot[i];
      if (slot < 0) continue;
      const auto& name = r.collection->columns[static_cast<std::size_t>(slot)].name;
      const tuple_value* v = &t[i];
      if (v->k == tuple_value::kind::unchanged_toast && fallback &&
          (*fallback)[i].k == tuple_value::kind::text) {
        v = &(*fallback)[i];
      }
      switch (v->k) {
        case tuple_value::kind::null:
          if (key_only && !rel->columns[i].is_key) {
            change.missing.push_back(name);  // not logged: a key-only old row
          } else {
            out.emplace(name, nullptr);
          }
          break;
        case tuple_value::kind::unchanged_toast:
          change.missing.push_back(name);
          break;
        case tuple_value::kind::binary:
          return assembler_errc::binary_value;
        case tuple_value::kind::text: {
          auto j = protocol::text_to_json(r.types[i], v->data);
          if (!j) {
            failure_ = value_failure{
                r.collection->name,
                "table " + rel->nspname + "." + rel->relname + ", column " + rel->columns[i].name +
                    " (" + std::string(r.types[i].name) + "): " + j.error().message()};
            return assembler_errc::bad_value;
          }
          out.emplace(name, std::move(*j));
          break;
        }
      }
    }
    return {};
  };

  const auto& primary_key = r.collection->primary_key;
  auto every_column = [&] {
    for (const auto& col : r.collection->columns) {
      if (change.row.contains(col.name)) change.changed.push_back(col.name);
    }
  };
  if (op == change_op::remove) {
    if (auto ec = convert(*old_tuple, nullptr, old_is_key_only, change.row)) return ec;
  } else {
    const protocol::tuple_data* full_old = (old_tuple && !old_is_key_only) ? old_tuple : nullptr;
    if (auto ec = convert(*new_tuple, full_old, false, change.row)) return ec;
    if (op == change_op::update && old_tuple) {
      json::object before;
      auto new_missing = std::exchange(change.missing, {});
      if (auto ec = convert(*old_tuple, nullptr, old_is_key_only, before)) return ec;
      auto old_missing = std::exchange(change.missing, std::move(new_missing));
      auto old_key = protocol::row_key(before, primary_key);
      auto new_key = protocol::row_key(change.row, primary_key);
      if (old_key && new_key && *old_key != *new_key) {
        // The primary key changed: for every reader the old key's row is gone and the new
        // key's row is new (a client would otherwise keep the old key alive). The delete
        // goes first, so a reader never holds both.
        row_change gone;
        gone.collection = change.collection;
        gone.op = change_op::remove;
        gone.key = std::move(*old_key);
        gone.row = std::move(before);
        gone.missing = std::move(old_missing);
        gone.origin = origins_.take(gone.collection, gone.key);
        txn_.changes.push_back(std::move(gone));
        change.op = change_op::insert;
        every_column();
      } else if (full_old) {
        for (const auto& col : r.collection->columns) {
          const auto* a = before.if_contains(col.name);
          const auto* b = change.row.if_contains(col.name);
          if (b && (!a || *a != *b)) change.changed.push_back(col.name);
        }
        change.old_row = std::move(before);
      } else {
        every_column();
      }
    } else {
      every_column();
    }
  }
  auto key = protocol::row_key(change.row, primary_key);
  if (!key) return assembler_errc::missing_key;
  change.key = std::move(*key);
  change.origin = origins_.take(change.collection, change.key);
  txn_.changes.push_back(std::move(change));
  return added(tuple_bytes(old_tuple) + tuple_bytes(new_tuple) + 128);
}

boost::system::result<transaction_assembler::event> transaction_assembler::on_truncate(
    const protocol::truncate_message& m) {
  if (!open_) return assembler_errc::change_outside_transaction;
  for (auto oid : m.relation_oids) {
    auto rit = routes_.find(oid);
    if (rit == routes_.end()) return assembler_errc::unknown_relation;
    if (!rit->second.collection || is_excluded(rit->second.collection->name)) continue;
    row_change change;
    change.collection = rit->second.collection->name;
    change.op = change_op::truncate;
    change.origin = origins_.untargeted();
    txn_.changes.push_back(std::move(change));
  }
  return added(128 * m.relation_oids.size());
}

boost::system::result<transaction_assembler::event> transaction_assembler::on_message(
    const protocol::logical_message& m) {
  if (m.transactional) {
    if (m.prefix == origin_message_prefix) {
      if (!open_) return assembler_errc::change_outside_transaction;
      // fieldsync's own messages are as long as a batch's writes: one larger than the whole
      // transaction may hold in memory cannot be one, and is not parsed.
      origins_ = m.content.size() <= max_bytes_ ? announced_origins::parse(m.content)
                                                : announced_origins{};
      return added(2 * m.content.size());  // held until the transaction ends
    }
    return event::none;
  }
  if (m.prefix == heartbeat_message_prefix && !open_) {
    heartbeat_lsn_ = m.message_lsn;
    return event::heartbeat;
  }
  return event::none;
}

transaction_assembler::event transaction_assembler::added(std::size_t bytes) {
  txn_bytes_ += bytes;
  return txn_bytes_ > max_bytes_ ? event::over_limit : event::none;
}

bool transaction_assembler::is_excluded(const std::string& collection) const noexcept {
  return std::find(excluded_.begin(), excluded_.end(), collection) != excluded_.end();
}

transaction transaction_assembler::take_transaction() {
  last_bytes_ = txn_bytes_;
  txn_bytes_ = 0;
  return std::move(txn_);
}

std::vector<row_change> transaction_assembler::take_changes() {
  spilled_ = true;
  txn_bytes_ = 0;
  return std::exchange(txn_.changes, {});
}

std::vector<std::string> transaction_assembler::take_identity_warnings() {
  return std::exchange(identity_warnings_, {});
}

}  // namespace fieldsync::protocol
