#pragma once
// The interface of a per-field merge policy, and what it is given.
//
// The three-way frame (conflicts/field_merge.hpp) settles every field it can without a
// policy: a field the server did not change since the client's base takes the client's value,
// a field the client did not change keeps the server's, and two sides that changed it to the
// same value agree. Only when both changed it to different values does the field's strategy
// resolve() it: it returns the merged value, or a merge_errc that rejects the mutation.
//
// Contract for implementations (docs/merge.md shows a whole one):
//   - pure and deterministic: the result depends on the arguments only (no clock, no
//     randomness, no state), so every node of a cluster merges the same way;
//   - no exceptions: a value the policy cannot merge is merge_errc::not_mergeable;
//   - immutable after construction: one instance serves every thread at once.

#include "conflicts/hlc.hpp"
#include "protocol/pg_type.hpp"

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::conflicts {

// Who wrote one side of a field, and when.
struct writer {
  // Absent when unknown (a row an integration wrote without a clock, a client that sent
  // none); an absent clock orders before every clock.
  std::optional<hlc> clock;
  std::string client_id;  // empty when unknown
};

// One field of a mutation, as the frame and the strategies see it.
struct field_context {
  std::string_view collection;
  std::string_view field;
  protocol::column_type type;  // "other" when the caller has no schema
  // What the client saw before its edit; nullptr when absent (an insert, or a client that did
  // not send it). An absent base equals no value, not even null.
  const boost::json::value* base = nullptr;
  const boost::json::value* client = nullptr;  // what the client wants; never nullptr
  const boost::json::value* server = nullptr;  // the current value; never nullptr
  const writer* client_writer = nullptr;       // never nullptr
  // The last writer of the server's value: the field's own clock when the caller keeps
  // per-field clocks, otherwise the row's.
  const writer* server_writer = nullptr;  // never nullptr
};

class merge_strategy {
 public:
  virtual ~merge_strategy() = default;

  // The name the config uses: lower case, words joined by '-'.
  virtual std::string_view name() const noexcept = 0;

  // Whether two concurrent mutations from the same base give the same row in either arrival
  // order. A promise the tests check for every strategy that makes it.
  virtual bool commutative() const noexcept { return false; }

  // Whether the strategy can merge values of this column type; config validation uses it
  // when it has the schema. Unknown types ("other") are accepted by the generic strategies.
  virtual bool accepts(const protocol::column_type& type) const noexcept;

  // Whether two sides that changed the field to the same value are two changes rather than
  // an agreement, so the frame sends them to resolve() too: counter, where two devices that
  // each add 1 to 5 must make 7, not 6.
  virtual bool accumulates() const noexcept { return false; }

  // Whether the frame should treat two values as the same. Semantic equality
  // (conflicts/canonical_value.hpp) unless the strategy sees values differently: set-union
  // compares arrays as sets.
  virtual bool same(const boost::json::value& a, const boost::json::value& b,
                    const protocol::column_type& type) const;

  // Called only for a field both sides changed, to values that are not the same() unless
  // the strategy accumulates().
  virtual boost::system::result<boost::json::value> resolve(const field_context& c) const = 0;
};

}  // namespace fieldsync::conflicts
