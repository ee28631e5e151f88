#include "tests/support/libpq_handle.hpp"

#include <stdexcept>

namespace fieldsync::test {

pg_conn_ptr pg_connect(const std::string& conninfo) {
  pg_conn_ptr c(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) {
    throw std::runtime_error("connect: " + std::string(PQerrorMessage(c.get())));
  }
  return c;
}

pg_result_ptr pg_exec(PGconn* c, const std::string& sql) {
  pg_result_ptr r(PQexec(c, sql.c_str()), &PQclear);
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    throw std::runtime_error("SQL failed: " + std::string(PQerrorMessage(c)) +
                             " in: " + sql.substr(0, 200));
  }
  return r;
}

}  // namespace fieldsync::test
