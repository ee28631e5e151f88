#pragma once
// A synced collection as the rest of fieldsync sees it: its configured name and the
// source table's columns with their types, read from the catalog at start-up. Filters are
// type-checked against it, mutations validated with it, and /v1/collections lists it.

#include "protocol/pg_type.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::protocol {

struct column_schema {
  std::string name;
  column_type type;
  bool not_null = false;
  bool has_default = false;  // a DEFAULT or identity: an insert may leave it out
};

struct collection_schema {
  std::string name;                      // what clients use
  std::string schema_name;               // source table's schema ("public")
  std::string table_name;                // source table's name
  std::vector<std::string> primary_key;  // column names, in key order
  std::vector<column_schema> columns;    // the synced columns, in table order

  const column_schema* find(std::string_view column) const noexcept {
    for (const auto& c : columns) {
      if (c.name == column) return &c;
    }
    return nullptr;
  }
};

}  // namespace fieldsync::protocol
