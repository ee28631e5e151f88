#include "storage/changed_collections.hpp"

namespace fieldsync::storage {

boost::asio::awaitable<pg_outcome<std::vector<collection_change>>> async_changed_collections(
    pg_pool& storage, protocol::lsn after, protocol::lsn upto) {
  // The primary key (lsn, idx) bounds the scan to the new entries.
  auto r = co_await storage.async_query(
      "SELECT collection, max(lsn)::text FROM fieldsync.changes "
      "WHERE lsn > $1::pg_lsn AND lsn <= $2::pg_lsn GROUP BY collection",
      pg_params(after.to_string(), upto.to_string()));
  if (!r) co_return r.error();
  std::vector<collection_change> out;
  for (int i = 0; i < r->rows(); ++i) {
    auto last = protocol::lsn::parse(r->value(i, 1));
    out.push_back({std::string(r->value(i, 0)), last.value_or(upto)});
  }
  co_return out;
}

}  // namespace fieldsync::storage
