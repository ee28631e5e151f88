#pragma once
// A field value read as a number by the strategies that do arithmetic or compare numbers
// (counter, max, min), and the JSON form a computed number goes back as.
//
// Accepted: JSON integers, JSON doubles, and decimal strings (how protocol/value_json.hpp
// spells numeric values a double cannot carry). A result keeps the representation of its
// operands: integers stay integers, anything with a decimal string becomes a decimal string,
// and doubles stay doubles when the exact result reads back as one.

#include "protocol/decimal.hpp"
#include "protocol/pg_type.hpp"

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <optional>

namespace fieldsync::conflicts {

using protocol::decimal;

enum class number_form {
  integer,   // JSON integer
  floating,  // JSON double
  text,      // decimal string
};

struct numeric_operand {
  decimal value;
  number_form form = number_form::integer;
};

// nullopt for anything that is not a number (null included; the caller decides what null is).
std::optional<numeric_operand> read_number(const boost::json::value& v);

// The form of a result computed from operands of forms a and b.
number_form combined_form(number_form a, number_form b) noexcept;

// The JSON value for a computed number. A floating column always gets a double (the nearest);
// an integer result beyond int64/uint64 and a double beyond its range are out_of_range.
boost::system::result<boost::json::value> write_number(const decimal& value, number_form form,
                                                       const protocol::column_type& type);

}  // namespace fieldsync::conflicts
