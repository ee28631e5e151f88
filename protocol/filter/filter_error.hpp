#pragma once
// Errors of the filter language (docs/filters.md): every stage (parse, check, bind) reports
// what went wrong and where, as a byte offset into the filter text, so a client can point at
// the offending token. Filters come from clients and from the config: nothing in them may
// reach an assert or throw.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>

namespace fieldsync::protocol {

enum class filter_errc {
  too_long = 1,       // the text is longer than filter_limits::max_text_bytes
  syntax,             // a token that does not fit the grammar, or bad characters
  too_deep,           // parentheses and NOTs nested deeper than filter_limits::max_depth
  too_many_nodes,     // more than filter_limits::max_nodes
  list_too_long,      // an IN list or an ANY array over filter_limits::max_in_list
  unknown_column,     // a column the collection does not have
  type_mismatch,      // a value of the wrong kind for the column or the other operand
  unsupported,        // a construct the language does not allow on that column or operand
  bad_value,          // a value of the right kind that does not parse (a uuid, a date, ...)
  missing_parameter,  // $n beyond the parameters supplied at bind time
  too_large,          // a LIKE pattern or the $n values over filter_limits' byte limits
};

const boost::system::error_category& filter_category() noexcept;
inline boost::system::error_code make_error_code(filter_errc e) noexcept {
  return {static_cast<int>(e), filter_category()};
}

// A stable name for the code, for JSON error bodies ("filter_syntax", ...).
const char* filter_errc_name(filter_errc e) noexcept;

struct filter_error {
  filter_errc code = filter_errc::syntax;
  std::size_t position = 0;  // byte offset into the filter text
  std::string message;       // for people: what was found and what was expected

  // "at byte 12: expected a value after '=', found ')'"
  std::string to_string() const;
};

template <typename T>
using filter_result = boost::system::result<T, filter_error>;

// result<T, filter_error>::value() on an error ends up here (ADL); the data path checks
// has_value() first, so this only fires on a programming error.
[[noreturn]] void throw_exception_from_error(const filter_error& e,
                                             const boost::source_location& loc);

}  // namespace fieldsync::protocol

template <>
struct boost::system::is_error_code_enum<fieldsync::protocol::filter_errc> : std::true_type {};
