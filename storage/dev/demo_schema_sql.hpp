#pragma once
// config/demo_schema.sql, compiled in (storage/CMakeLists.txt generates the definition) so
// `fieldsync dev` works from any working directory.

#include <string_view>

namespace fieldsync::storage {

std::string_view demo_schema_sql() noexcept;

}  // namespace fieldsync::storage
