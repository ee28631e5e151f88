#include "server/access/collection_registry.hpp"

#include <algorithm>

namespace fieldsync::server {

namespace {

std::optional<protocol::checked_filter> prepare_scope(const collection_config& cfg,
                                                      const protocol::collection_schema& schema,
                                                      const std::string& text, const char* key) {
  if (text.empty()) return std::nullopt;
  auto checked = protocol::prepare_filter(text, schema);
  if (!checked) {
    const auto& e = checked.error();
    throw config_error("collections." + cfg.name + "." + key + ": at byte " +
                       std::to_string(e.position) + ": " + e.message);
  }
  return std::move(*checked);
}

boost::system::result<protocol::bound_filter, access_denied> bind_scope(
    const collection_access& c, const std::optional<protocol::checked_filter>& scope,
    const principal& who, const char* what) {
  if (!scope) {
    return access_denied{"forbidden", "nobody may " + std::string(what) + " collection " + c.schema.name};
  }
  auto bound = protocol::bind_filter(*scope, {}, who.claims);
  if (!bound) {
    // The token lacks a claim of the right kind for the scope: a configuration or identity
    // provider problem, reported without exposing the scope text.
    return access_denied{"forbidden", "your token's claims do not fit the " + std::string(what) +
                                          " scope of " + c.schema.name + ": " + bound.error().message};
  }
  return std::move(*bound);
}

}  // namespace

collection_registry::collection_registry(const std::vector<collection_config>& configured,
                                         std::vector<protocol::collection_schema> described) {
  for (auto& schema : described) {
    auto cfg = std::find_if(configured.begin(), configured.end(),
                            [&](const collection_config& c) { return c.name == schema.name; });
    if (cfg == configured.end()) continue;
    collection_access a;
    a.read_scope = prepare_scope(*cfg, schema, cfg->read_scope, "read_scope");
    a.write_scope = prepare_scope(*cfg, schema, cfg->write_scope, "write_scope");
    a.is_public = cfg->is_public;
    a.schema = std::move(schema);
    collections_.push_back(std::move(a));
  }
}

const collection_access* collection_registry::find(std::string_view name) const noexcept {
  for (const auto& c : collections_) {
    if (c.schema.name == name) return &c;
  }
  return nullptr;
}

protocol::bound_filter match_all_filter() {
  protocol::bound_filter f;
  f.root.k = protocol::bound_node::kind::constant;
  f.root.truth = protocol::filter_truth::true_;
  return f;
}

boost::system::result<protocol::bound_filter, access_denied> bind_read_scope(
    const collection_access& c, const principal& who) {
  if (!c.read_scope && c.is_public) return match_all_filter();
  return bind_scope(c, c.read_scope, who, "read");
}

boost::system::result<protocol::bound_filter, access_denied> bind_write_scope(
    const collection_access& c, const principal& who) {
  return bind_scope(c, c.write_scope, who, "write");
}

}  // namespace fieldsync::server
