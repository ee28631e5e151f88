#pragma once
// Plain blocking libpq for test helpers that drive PostgreSQL directly (writers, checks):
// owned handles, and calls that throw with the server's message.

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace fieldsync::test {

using pg_conn_ptr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using pg_result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Throws std::runtime_error when the connection fails.
pg_conn_ptr pg_connect(const std::string& conninfo);

// Throws std::runtime_error (with the start of `sql`) when the statement fails.
pg_result_ptr pg_exec(PGconn* c, const std::string& sql);

}  // namespace fieldsync::test
