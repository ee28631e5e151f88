#pragma once
// Which collections the change log holds changes of between two positions: what a node's
// long-polls need to know to wake only the requests whose collection moved
// (server/pull/log_watch.hpp). One query per log advance for the whole node.

#include "protocol/lsn.hpp"
#include "storage/pg_error.hpp"
#include "storage/pg_pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace fieldsync::storage {

struct collection_change {
  std::string collection;
  protocol::lsn last;  // the newest change of it in the range
};

// The collections with changes at LSNs in (after, upto], each with its newest one.
boost::asio::awaitable<pg_outcome<std::vector<collection_change>>> async_changed_collections(
    pg_pool& storage, protocol::lsn after, protocol::lsn upto);

}  // namespace fieldsync::storage
