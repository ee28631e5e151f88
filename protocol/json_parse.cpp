#include "protocol/json_parse.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <string>

namespace fieldsync::protocol {

namespace json = boost::json;

namespace {

// The handler Boost.JSON's own parser uses (a value_stack), except for doubles.
class exact_number_handler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack stack;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::system::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) {
    number_.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) {
    number_.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    double exact = 0;
    auto [end, ec] = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    // Out of range (1e400, 1e-400): keep what Boost.JSON made of it.
    if (ec == std::errc{} && end == number_.data() + number_.size()) d = exact;
    number_.clear();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  std::string number_;  // the parts of a number so far
};

// Builds nothing: checks the syntax, the depth and (for jsonb) that no string or key
// holds NUL, which jsonb refuses.
class validating_handler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit validating_handler(bool refuse_nul) noexcept : refuse_nul_(refuse_nul) {}

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code& ec) {
    return chars(s, ec);
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
    return chars(s, ec);
  }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code& ec) {
    return chars(s, ec);
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code& ec) {
    return chars(s, ec);
  }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  bool chars(json::string_view s, boost::system::error_code& ec) {
    if (refuse_nul_ && s.find('\0') != json::string_view::npos) {
      ec = json::error::syntax;
      return false;
    }
    return true;
  }

  bool refuse_nul_;
};

}  // namespace

bool is_json_text(std::string_view text, std::size_t max_depth, bool refuse_nul) {
  json::parse_options options;
  options.max_depth = max_depth;
  json::basic_parser<validating_handler> parser(options, refuse_nul);
  boost::system::error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  return !ec && n == text.size();
}

boost::system::result<json::value> parse_json_exact(std::string_view text,
                                                    std::size_t max_depth) {
  json::parse_options options;
  options.max_depth = max_depth;
  json::basic_parser<exact_number_handler> parser(options);
  parser.handler().stack.reset(json::storage_ptr());
  boost::system::error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) return ec;
  return parser.handler().stack.release();
}

}  // namespace fieldsync::protocol
