#include "conflicts/strategies/set_union_strategy.hpp"

#include "conflicts/canonical_value.hpp"
#include "conflicts/merge_errc.hpp"

#include <boost/json/array.hpp>

#include <set>
#include <string>
#include <vector>

namespace fieldsync::conflicts {

namespace {

// null and absent are the empty set; nullopt for a value that is not a set at all.
std::optional<const boost::json::array*> as_set(const boost::json::value* v) {
  static const boost::json::array empty;
  if (!v || v->is_null()) return &empty;
  if (!v->is_array()) return std::nullopt;
  return &v->get_array();
}

std::set<std::string> element_keys(const boost::json::array& a, const protocol::column_type& type) {
  std::set<std::string> keys;
  for (const auto& e : a) keys.insert(canonical_value(e, type));
  return keys;
}

}  // namespace

bool set_union_strategy::accepts(const protocol::column_type& type) const noexcept {
  using protocol::type_class;
  return type.cls == type_class::array || type.cls == type_class::json ||
         type.cls == type_class::other;
}

bool set_union_strategy::same(const boost::json::value& a, const boost::json::value& b,
                              const protocol::column_type& type) const {
  if (!a.is_array() || !b.is_array()) return merge_strategy::same(a, b, type);
  auto elements = element_type(type);
  return element_keys(a.get_array(), elements) == element_keys(b.get_array(), elements);
}

boost::system::result<boost::json::value> set_union_strategy::resolve(
    const field_context& c) const {
  auto base = as_set(c.base);
  auto client = as_set(c.client);
  auto server = as_set(c.server);
  if (!base || !client || !server) return merge_errc::not_mergeable;
  auto elements = element_type(c.type);

  auto base_keys = element_keys(**base, elements);
  auto client_keys = element_keys(**client, elements);
  std::set<std::string> emitted;
  boost::json::array out;
  for (const auto& e : **server) {
    auto key = canonical_value(e, elements);
    bool removed_by_client = base_keys.contains(key) && !client_keys.contains(key);
    if (removed_by_client || emitted.contains(key)) continue;
    out.push_back(e);
    emitted.insert(std::move(key));
  }
  for (const auto& e : **client) {
    auto key = canonical_value(e, elements);
    if (base_keys.contains(key) || emitted.contains(key)) continue;
    out.push_back(e);
    emitted.insert(std::move(key));
  }
  return boost::json::value(std::move(out));
}

}  // namespace fieldsync::conflicts
