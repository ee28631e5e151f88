#pragma once
// Encoding values for COPY ... FROM STDIN in the text format: one line per row, columns
// separated by a tab, NULL written as \N, and backslash, tab, newline and carriage return
// backslash-escaped (PostgreSQL docs, "COPY", File Formats / Text Format).
//
// Pure functions on strings; no I/O.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace fieldsync::storage {

// Appends `value` escaped for one COPY text column.
void append_copy_escaped(std::string& out, std::string_view value);

// A PostgreSQL array literal of text elements: {a,"b c","say \"hi\""}. Elements are quoted
// when they are empty, spell NULL, or hold whitespace or one of {}," and backslash.
std::string text_array_literal(std::span<const std::string_view> elements);

// Appends `value` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view value);

// Builds one COPY row into a caller-owned buffer:
//   copy_row(buf).text(name).null().raw("42").end();
class copy_row {
 public:
  explicit copy_row(std::string& out) : out_(out) {}

  // Any text; escaped.
  copy_row& text(std::string_view value);
  // Text that can hold nothing to escape (numbers, uuids, timestamps we formatted).
  copy_row& raw(std::string_view value);
  copy_row& integer(std::int64_t value);
  copy_row& null();
  copy_row& text_array(std::span<const std::string_view> elements);
  // Ends the row with the newline.
  void end();

 private:
  void separate();
  std::string& out_;
  bool first_ = true;
};

}  // namespace fieldsync::storage
