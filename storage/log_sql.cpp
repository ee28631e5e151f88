#include "storage/log_sql.hpp"

namespace fieldsync::storage {

using protocol::type_class;

std::string log_column_sql(const protocol::column_schema& column, std::string_view row_expr) {
  std::string key;  // a SQL string literal; names are identifiers, quotes doubled anyway
  for (char c : column.name) {
    if (c == '\'') key += '\'';
    key += c;
  }
  std::string extract = "(" + std::string(row_expr) + "->>'" + key + "')";
  switch (column.type.cls) {
    case type_class::array:
    case type_class::json:
    case type_class::bytea:
    case type_class::interval:
    case type_class::other:
      return extract;
    default:
      break;
  }
  if (column.type.oid == protocol::oids::text) return extract;
  return extract + "::" + std::string(column.type.name);
}

}  // namespace fieldsync::storage
