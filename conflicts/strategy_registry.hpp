#pragma once
// The merge strategies by name, as the config names them.
//
// Adding a strategy is one class (a merge_strategy, see docs/merge.md) and one line in
// strategy_registry::builtin(). Registration is explicit rather than by static initialisers,
// which a static library's linker may silently drop.
//
// Concurrency: filled at start-up on one thread; after that it is only read, and find()
// may be called from any number of threads at once.

#include "conflicts/merge_strategy.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::conflicts {

class strategy_registry {
 public:
  strategy_registry() = default;
  strategy_registry(strategy_registry&&) = default;
  strategy_registry& operator=(strategy_registry&&) = default;

  // Every strategy that ships with fieldsync: lww, server-wins, client-wins, counter,
  // set-union, reject, max, min.
  static strategy_registry builtin();

  // Start-up only: throws std::invalid_argument for a null strategy, an empty name or a name
  // that is taken.
  void add(std::unique_ptr<merge_strategy> strategy);

  const merge_strategy* find(std::string_view name) const noexcept;
  std::vector<std::string_view> names() const;  // sorted

 private:
  std::map<std::string, std::unique_ptr<merge_strategy>, std::less<>> strategies_;
};

}  // namespace fieldsync::conflicts
