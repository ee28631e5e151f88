#include "conflicts/strategies/numeric_operand.hpp"

#include "conflicts/merge_errc.hpp"

#include <string>

namespace fieldsync::conflicts {

std::optional<numeric_operand> read_number(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::int64:
      return numeric_operand{decimal::from_int(v.get_int64()), number_form::integer};
    case boost::json::kind::uint64:
      return numeric_operand{decimal::from_uint(v.get_uint64()), number_form::integer};
    case boost::json::kind::double_: {
      auto d = decimal::from_double(v.get_double());
      if (!d) return std::nullopt;
      return numeric_operand{std::move(*d), number_form::floating};
    }
    case boost::json::kind::string: {
      auto d = decimal::parse(v.get_string());
      if (!d) return std::nullopt;
      return numeric_operand{std::move(*d), number_form::text};
    }
    default:
      return std::nullopt;
  }
}

number_form combined_form(number_form a, number_form b) noexcept {
  if (a == number_form::text || b == number_form::text) return number_form::text;
  if (a == number_form::floating || b == number_form::floating) return number_form::floating;
  return number_form::integer;
}

boost::system::result<boost::json::value> write_number(const decimal& value, number_form form,
                                                       const protocol::column_type& type) {
  if (type.cls == protocol::type_class::floating) {
    auto d = value.to_double();
    if (!d) return merge_errc::out_of_range;
    return boost::json::value(*d);
  }
  switch (form) {
    case number_form::integer: {
      if (auto i = value.to_int64()) return boost::json::value(*i);
      if (auto u = value.to_uint64()) return boost::json::value(*u);
      return merge_errc::out_of_range;
    }
    case number_form::floating: {
      // A double only when it is the exact result, as value_json does for numeric values;
      // otherwise the exact decimal as a string rather than a rounded number.
      if (auto d = value.to_double()) {
        auto back = decimal::from_double(*d);
        if (back && compare(*back, value) == 0) return boost::json::value(*d);
      }
      return boost::json::value(value.to_string());
    }
    case number_form::text:
      return boost::json::value(value.to_string());
  }
  return merge_errc::out_of_range;
}

}  // namespace fieldsync::conflicts
