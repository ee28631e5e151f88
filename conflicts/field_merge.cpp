#include "conflicts/field_merge.hpp"

namespace fieldsync::conflicts {

boost::system::result<merged_field> merge_field(const merge_strategy& strategy,
                                                const field_context& c) {
  if (c.base && strategy.same(*c.server, *c.base, c.type)) {
    return merged_field{*c.client, field_resolution::client};
  }
  if (c.base && strategy.same(*c.client, *c.base, c.type)) {
    return merged_field{*c.server, field_resolution::server};
  }
  if (!strategy.accumulates() && strategy.same(*c.client, *c.server, c.type)) {
    return merged_field{*c.server, field_resolution::agreed};
  }
  auto decided = strategy.resolve(c);
  if (!decided) return decided.error();
  return merged_field{std::move(*decided), field_resolution::policy};
}

}  // namespace fieldsync::conflicts
