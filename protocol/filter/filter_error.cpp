#include "protocol/filter/filter_error.hpp"

#include <boost/throw_exception.hpp>

#include <stdexcept>

namespace fieldsync::protocol {

namespace {

class filter_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "fieldsync.filter"; }
  std::string message(int ev) const override {
    switch (static_cast<filter_errc>(ev)) {
      case filter_errc::too_long:
        return "filter text too long";
      case filter_errc::syntax:
        return "filter syntax error";
      case filter_errc::too_deep:
        return "filter nested too deeply";
      case filter_errc::too_many_nodes:
        return "filter has too many terms";
      case filter_errc::list_too_long:
        return "filter list too long";
      case filter_errc::unknown_column:
        return "filter names an unknown column";
      case filter_errc::type_mismatch:
        return "filter compares values of different types";
      case filter_errc::unsupported:
        return "filter uses an unsupported operation";
      case filter_errc::bad_value:
        return "filter value does not parse";
      case filter_errc::missing_parameter:
        return "filter parameter not supplied";
      case filter_errc::too_large:
        return "filter pattern or parameters too large";
    }
    return "unknown filter error";
  }
};

}  // namespace

const boost::system::error_category& filter_category() noexcept {
  static const filter_category_impl instance;
  return instance;
}

const char* filter_errc_name(filter_errc e) noexcept {
  switch (e) {
    case filter_errc::too_long:
      return "filter_too_long";
    case filter_errc::syntax:
      return "filter_syntax";
    case filter_errc::too_deep:
      return "filter_too_deep";
    case filter_errc::too_many_nodes:
      return "filter_too_many_nodes";
    case filter_errc::list_too_long:
      return "filter_list_too_long";
    case filter_errc::unknown_column:
      return "filter_unknown_column";
    case filter_errc::type_mismatch:
      return "filter_type_mismatch";
    case filter_errc::unsupported:
      return "filter_unsupported";
    case filter_errc::bad_value:
      return "filter_bad_value";
    case filter_errc::missing_parameter:
      return "filter_missing_parameter";
    case filter_errc::too_large:
      return "filter_too_large";
  }
  return "filter_error";
}

std::string filter_error::to_string() const {
  return "at byte " + std::to_string(position) + ": " + message;
}

void throw_exception_from_error(const filter_error& e, const boost::source_location& loc) {
  boost::throw_with_location(std::invalid_argument("filter error " + e.to_string()), loc);
}

}  // namespace fieldsync::protocol
