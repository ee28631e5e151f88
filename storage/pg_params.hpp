#pragma once
// Query parameters in text format. Values are always sent as parameters ($1, $2, ...),
// never spliced into the SQL text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldsync::storage {

class pg_params {
 public:
  pg_params() = default;
  template <typename... Ts>
  explicit pg_params(Ts&&... values) {
    (add(std::forward<Ts>(values)), ...);
  }

  pg_params& add(std::string_view v) { values_.emplace_back(std::string(v)); return *this; }
  pg_params& add(const char* v) { return add(std::string_view(v)); }
  pg_params& add(const std::string& v) { return add(std::string_view(v)); }
  pg_params& add(std::int64_t v) { values_.emplace_back(std::to_string(v)); return *this; }
  pg_params& add(int v) { return add(static_cast<std::int64_t>(v)); }
  pg_params& add(bool v) { values_.emplace_back(v ? "t" : "f"); return *this; }
  pg_params& add(std::nullopt_t) { values_.emplace_back(std::nullopt); return *this; }
  pg_params& add(const std::optional<std::string>& v) { values_.push_back(v); return *this; }

  std::size_t size() const noexcept { return values_.size(); }
  const std::vector<std::optional<std::string>>& values() const noexcept { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

}  // namespace fieldsync::storage
