#include "conflicts/strategy_registry.hpp"

#include "conflicts/strategies/client_wins_strategy.hpp"
#include "conflicts/strategies/counter_strategy.hpp"
#include "conflicts/strategies/lww_strategy.hpp"
#include "conflicts/strategies/max_strategy.hpp"
#include "conflicts/strategies/min_strategy.hpp"
#include "conflicts/strategies/reject_strategy.hpp"
#include "conflicts/strategies/server_wins_strategy.hpp"
#include "conflicts/strategies/set_union_strategy.hpp"

#include <stdexcept>

namespace fieldsync::conflicts {

strategy_registry strategy_registry::builtin() {
  strategy_registry r;
  r.add(std::make_unique<lww_strategy>());
  r.add(std::make_unique<server_wins_strategy>());
  r.add(std::make_unique<client_wins_strategy>());
  r.add(std::make_unique<counter_strategy>());
  r.add(std::make_unique<set_union_strategy>());
  r.add(std::make_unique<reject_strategy>());
  r.add(std::make_unique<max_strategy>());
  r.add(std::make_unique<min_strategy>());
  return r;
}

void strategy_registry::add(std::unique_ptr<merge_strategy> strategy) {
  if (!strategy) throw std::invalid_argument("merge strategy registry: null strategy");
  std::string name(strategy->name());
  if (name.empty()) throw std::invalid_argument("merge strategy registry: empty strategy name");
  auto [it, inserted] = strategies_.try_emplace(name, std::move(strategy));
  if (!inserted) {
    throw std::invalid_argument("merge strategy registry: \"" + name + "\" is registered twice");
  }
}

const merge_strategy* strategy_registry::find(std::string_view name) const noexcept {
  auto it = strategies_.find(name);
  return it == strategies_.end() ? nullptr : it->second.get();
}

std::vector<std::string_view> strategy_registry::names() const {
  std::vector<std::string_view> out;
  out.reserve(strategies_.size());
  for (const auto& [name, strategy] : strategies_) out.emplace_back(name);
  return out;
}

}  // namespace fieldsync::conflicts
