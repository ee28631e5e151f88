#pragma once

#include <string>
#include <string_view>

namespace fieldsync::storage {

// "host=/tmp/x port=5432 dbname=app user=sync": a conninfo or URI for logs and errors,
// without the password. Returns "invalid connection string: <why>" when libpq cannot
// parse it.
std::string describe_conninfo(std::string_view conninfo);

}  // namespace fieldsync::storage
