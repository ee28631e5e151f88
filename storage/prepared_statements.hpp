#pragma once
// Which statement texts a session holds prepared, and under what names.
//
// A preparable text (pg_statement::preparable) goes unnamed at its first use and is
// prepared at its second: a text that runs once costs no Prepare, and one that runs again
// and again is parsed and planned once per session. The bounds keep a session's memory,
// and the server's, small whatever texts come through it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace fieldsync::storage {

class prepared_statements {
 public:
  static constexpr std::size_t max_prepared = 128;  // statements prepared per session
  static constexpr std::size_t max_seen = 1024;     // texts remembered as seen once
  // A longer text (a batch with many keys or columns) is always sent unnamed: its shape
  // rarely repeats, and one user's large batches must not fill every session's slots and
  // the server's memory with plans nobody runs again.
  static constexpr std::size_t max_text_bytes = 8192;

  struct use {
    std::string name;  // execute by this name
    bool prepare;      // the Prepare must be sent first (the text's second use)
  };

  // How to send `sql` now: by name (after preparing it, when `prepare`), or unnamed
  // (nullopt). A text given a name counts as prepared from here on; forget() it when the
  // server refuses the Prepare.
  std::optional<use> use_of(const std::string& sql);

  // The server does not hold `sql`'s statement (its Prepare failed or was skipped) or
  // should not run it again (its plan went stale). A later use prepares it under a new
  // name: the old one may still exist on the server.
  void forget(const std::string& sql);
  // The server holds none of them any more (DISCARD ALL, a pooler's other backend).
  void forget_all();

  std::size_t size() const noexcept { return names_.size(); }

 private:
  std::unordered_map<std::string, std::string> names_;
  std::unordered_set<std::string> seen_;
  std::uint64_t next_ = 0;  // names are never reused on a session
};

}  // namespace fieldsync::storage
