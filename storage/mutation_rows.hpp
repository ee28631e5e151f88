#pragma once
// What the mutation path reads from and writes to PostgreSQL, as plain values: the readers
// in storage/mutation_sql.hpp fill them, the pure merge decision
// (server/mutations/mutation_decide.hpp) consumes them without depending on libpq or Asio.

#include "protocol/lsn.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fieldsync::storage {

// A mutation's result as a batch stored it (fieldsync.mutation_results).
struct stored_result {
  std::int64_t mutation_id = 0;
  boost::json::object result;
  std::string collection;
  std::string key;
  std::optional<std::uint32_t> xid;  // set when the mutation wrote its row
};

// A row's last-writer clocks (fieldsync.row_clocks).
struct stored_clocks {
  std::string key;
  std::uint32_t xid = 0;  // the xmin of the row version they describe
  std::string client_id;
  std::string row_clock;  // empty: none
  boost::json::object field_clocks;
  bool deleted = false;
};

// The change log's latest version of a row.
struct log_row {
  std::string key;
  protocol::lsn version;
  bool deleted = false;
  boost::json::object row;  // a tombstone's last values
  std::optional<std::uint32_t> xid;
};

// Column -> PostgreSQL text (nullopt: NULL), what a row write sends.
using column_values = std::vector<std::pair<std::string, std::optional<std::string>>>;

}  // namespace fieldsync::storage
