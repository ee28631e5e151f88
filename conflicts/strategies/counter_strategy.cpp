#include "conflicts/strategies/counter_strategy.hpp"

#include "conflicts/merge_errc.hpp"
#include "conflicts/strategies/numeric_operand.hpp"

namespace fieldsync::conflicts {

namespace {

std::optional<numeric_operand> operand(const boost::json::value* v) {
  if (!v || v->is_null()) return numeric_operand{};
  return read_number(*v);
}

}  // namespace

bool counter_strategy::accepts(const protocol::column_type& type) const noexcept {
  using protocol::type_class;
  return type.cls == type_class::integer || type.cls == type_class::numeric ||
         type.cls == type_class::floating || type.cls == type_class::other;
}

boost::system::result<boost::json::value> counter_strategy::resolve(const field_context& c) const {
  auto base = operand(c.base);
  auto client = operand(c.client);
  auto server = operand(c.server);
  if (!base || !client || !server) return merge_errc::not_mergeable;
  auto delta = subtract(client->value, base->value);
  if (!delta) return merge_errc::out_of_range;
  auto sum = add(server->value, *delta);
  if (!sum) return merge_errc::out_of_range;
  auto form = combined_form(combined_form(base->form, client->form), server->form);
  return write_number(*sum, form, c.type);
}

}  // namespace fieldsync::conflicts
