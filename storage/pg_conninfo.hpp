#pragma once

#include <string>
#include <string_view>

namespace fieldsync::storage {

// "host=/tmp/x port=5432 dbname=app user=sync": a conninfo or URI for logs and errors,
// without the password. Returns "invalid connection string: <why>" when libpq cannot
// parse it.
std::string describe_conninfo(std::string_view conninfo);

// The same connection as key=value conninfo, with `-c name=value` added to its server
// options (after the conninfo's own, so it wins): a setting for every session opened with
// it, e.g. the pools' statement_timeout. An unparseable conninfo is returned unchanged (the
// connection attempt reports it).
std::string conninfo_with_setting(std::string_view conninfo, std::string_view name,
                                  std::string_view value);

}  // namespace fieldsync::storage
