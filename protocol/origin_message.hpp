#pragma once
// The content of the transactional logical message (prefix "fieldsync") by which the
// mutation path tells the change feed which client mutation made which change
// (docs/mutations.md, "Origins"). Both sides of the format are here: the mutation path
// writes it (storage/mutation_sql.cpp), the ingest reads it (transaction_assembler.cpp).
//
// One message per batch, before its first write:
//   {"client_id": "...", "writes": [{"mutation_id": 7, "collection": "items",
//                                    "key": "<canonical key>", "client_ts": "..."}, ...]}
// in write order. A change gets the origin of the next unused write of its collection and
// key; a change no write names (a trigger's) has none.
//
// The per-mutation form of earlier versions, {"client_id", "mutation_id", "client_ts"}
// before each mutation's writes, names every change after it: it is still read, for WAL
// an older fieldsync wrote before an upgrade.
//
// Pure.

#include "protocol/change.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::protocol {

struct origin_write {
  std::int64_t mutation_id = 0;
  std::string collection;
  std::string key;        // canonical (protocol/row_key.hpp)
  std::string client_ts;  // empty: the client sent none
};

// The batch form's content.
std::string batch_origin_content(std::string_view client_id,
                                 const std::vector<origin_write>& writes);

// What a message announced: the origins of the changes after it, matched by key (the batch
// form), or one origin for all of them (the per-mutation form).
class announced_origins {
 public:
  // Reads a message's content; content that is neither form announces nothing (it cannot
  // come from fieldsync, and refusing it would stop the whole feed).
  static announced_origins parse(std::string_view content);

  // The origin of a change to `collection`'s row `key`; each write of the batch form names
  // one change.
  std::optional<change_origin> take(const std::string& collection, const std::string& key);
  // The origin of a change without a key (a truncate): only the per-mutation form has one.
  const std::optional<change_origin>& untargeted() const noexcept { return every_; }

 private:
  std::optional<change_origin> every_;
  std::map<std::pair<std::string, std::string>, std::deque<change_origin>> by_row_;
};

}  // namespace fieldsync::protocol
