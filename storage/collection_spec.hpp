#pragma once
// A collection as configured: what storage needs to know of [collections.NAME] (the
// server's config maps onto it; storage does not depend on the server).

#include <string>
#include <vector>

namespace fieldsync::storage {

struct collection_spec {
  std::string name;
  std::string table;                     // "table" or "schema.table"; empty: the name
  std::vector<std::string> primary_key;
  std::vector<std::string> columns;      // empty: every column of the table
};

}  // namespace fieldsync::storage
