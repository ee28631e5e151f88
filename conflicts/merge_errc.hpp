#pragma once
// Why a merge did not produce a row. The first group are rejections: normal outcomes the
// client is told about (with the current row, so it rolls back its optimistic state); their
// reason_code() is the text that goes on the wire and into the conflict record. The last
// ones are configuration errors that validate_merge_config() catches at start-up.

#include <boost/system/error_code.hpp>

#include <string_view>

namespace fieldsync::conflicts {

enum class merge_errc {
  conflict = 1,      // both sides changed a field whose policy is `reject`
  row_deleted,       // the client updated a row deleted meanwhile (update-vs-delete: delete-wins)
  row_changed,       // the client deleted a row changed meanwhile (delete-vs-update: reject)
  row_exists,        // the client inserted a key that exists (insert-on-existing: reject)
  not_mergeable,     // the values do not fit the field's policy (counter on text, ...)
  out_of_range,      // the merged value does not fit (a counter beyond int64, too many digits)
  unknown_strategy,  // the config names a strategy the registry does not have
};

const boost::system::error_category& merge_category() noexcept;
inline boost::system::error_code make_error_code(merge_errc e) noexcept {
  return {static_cast<int>(e), merge_category()};
}

// "conflict", "row_deleted", ...: stable snake_case codes for clients and the conflict log.
std::string_view reason_code(merge_errc e) noexcept;

}  // namespace fieldsync::conflicts

template <>
struct boost::system::is_error_code_enum<fieldsync::conflicts::merge_errc> : std::true_type {};
