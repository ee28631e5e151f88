#include "protocol/row_key.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace fieldsync::protocol {

namespace json = boost::json;

namespace {

// The text of one key value: a string as itself, anything else as its JSON.
std::string value_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

}  // namespace

boost::system::result<std::string> row_key(const json::object& row,
                                           const std::vector<std::string>& primary_key) {
  if (primary_key.empty()) return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
  if (primary_key.size() == 1) {
    const auto* v = row.if_contains(primary_key.front());
    if (!v || v->is_null()) return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    return value_text(*v);
  }
  json::array parts;
  parts.reserve(primary_key.size());
  for (const auto& column : primary_key) {
    const auto* v = row.if_contains(column);
    if (!v || v->is_null()) return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    parts.push_back(*v);
  }
  return json::serialize(parts);
}

}  // namespace fieldsync::protocol
