#include "storage/pg_result.hpp"

#include <cstdlib>

namespace fieldsync::storage {

long pg_result::affected_rows() const noexcept {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_.get());
  return (n && *n) ? std::strtol(n, nullptr, 10) : 0;
}

}  // namespace fieldsync::storage
