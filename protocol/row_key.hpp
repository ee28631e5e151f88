#pragma once
// A row's canonical key text: how the change log, cursors, URLs and clients name a row.
// One key column: the value's text ("42", "6f1c...-uuid", "abc"). Several: the JSON array
// of the values in primary-key order ("[7,\"2026-11-01\"]"). The same row always gets the
// same text, whoever computes it.

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <vector>

namespace fieldsync::protocol {

// Fails (errc::invalid_argument) when a key column is missing or null.
boost::system::result<std::string> row_key(const boost::json::object& row,
                                           const std::vector<std::string>& primary_key);

}  // namespace fieldsync::protocol
