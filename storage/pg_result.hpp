#pragma once
// An owned libpq result (PGresult) with text-format accessors.

#include <libpq-fe.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace fieldsync::storage {

class pg_result {
 public:
  pg_result() = default;
  explicit pg_result(PGresult* r) : res_(r, &PQclear) {}

  int rows() const noexcept { return res_ ? PQntuples(res_.get()) : 0; }
  int columns() const noexcept { return res_ ? PQnfields(res_.get()) : 0; }
  bool is_null(int row, int col) const noexcept { return PQgetisnull(res_.get(), row, col) != 0; }
  std::string_view value(int row, int col) const noexcept {
    return {PQgetvalue(res_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
  }
  std::optional<std::string_view> get(int row, int col) const noexcept {
    if (is_null(row, col)) return std::nullopt;
    return value(row, col);
  }
  std::string_view column_name(int col) const noexcept { return PQfname(res_.get(), col); }
  Oid column_type(int col) const noexcept { return PQftype(res_.get(), col); }
  // Rows touched by INSERT/UPDATE/DELETE/COPY; 0 for other commands.
  long affected_rows() const noexcept;
  PGresult* native() const noexcept { return res_.get(); }

 private:
  std::shared_ptr<PGresult> res_;
};

}  // namespace fieldsync::storage
