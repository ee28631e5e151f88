#pragma once
// The synced collections as the server serves them: the catalog's description, the
// read and write scopes from the config (parsed and type-checked once at start-up), and
// whether a collection is public. Binding a scope to a caller's claims gives the filter
// of the rows that caller may read or write.
//
// A collection without a read scope is readable by nobody unless it is public (every
// authenticated user reads all of it); one without a write scope is written by nobody.
//
// Concurrency contract: immutable after construction; any thread.

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter.hpp"
#include "server/access/authenticator.hpp"
#include "server/core/config.hpp"

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::server {

struct collection_access {
  protocol::collection_schema schema;
  std::optional<protocol::checked_filter> read_scope;
  std::optional<protocol::checked_filter> write_scope;
  bool is_public = false;
};

// Why a caller may not read or write a collection (403), or why its scope does not bind
// to the caller's claims (also 403: the token lacks what the scope needs).
struct access_denied {
  std::string code;     // forbidden
  std::string message;
};

class collection_registry {
 public:
  collection_registry() = default;
  // Throws config_error naming the collection, the scope and the position of a bad scope.
  collection_registry(const std::vector<collection_config>& configured,
                      std::vector<protocol::collection_schema> described);

  const collection_access* find(std::string_view name) const noexcept;
  const std::vector<collection_access>& all() const noexcept { return collections_; }

 private:
  std::vector<collection_access> collections_;
};

// The rows of `c` that `who` may read: a bound filter (constant TRUE for a public
// collection without a read scope). Denied when there is no scope for it.
boost::system::result<protocol::bound_filter, access_denied> bind_read_scope(
    const collection_access& c, const principal& who);
boost::system::result<protocol::bound_filter, access_denied> bind_write_scope(
    const collection_access& c, const principal& who);

// A filter that matches every row (bound_filter::constant() is TRUE).
protocol::bound_filter match_all_filter();

}  // namespace fieldsync::server
