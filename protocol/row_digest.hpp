#pragma once
// The state check's digest (docs/protocol.md, "State check"): a fingerprint of a set of
// rows that a client can compute byte for byte from the values it stored, so it can tell
// whether it holds exactly the rows the server has for its scope at a cursor.
//
//  - canonical_row_text: a row's JSON as JavaScript would print the values JSON.parse made
//    of it, with object keys sorted. Numbers are read as IEEE doubles (as JSON.parse does)
//    and printed as Number#toString does; strings are escaped as JSON.stringify does;
//    object keys are sorted by UTF-16 code units (Array#sort's default order); no spaces.
//  - row_hash: FNV-1a 64 of the UTF-8 bytes of `[<key as a JSON string>,<canonical row>]`.
//  - row_digest: the count of rows and the sum of their hashes modulo 2^64, so the order
//    in which rows are added does not matter; printed as 16 lower-case hex digits.
//
// Pure: no I/O. The same vectors are checked here (tests/unit/protocol/row_digest_test.cpp)
// and in the web SDK's unit tests (tests/fixtures/digest/vectors.json).

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace fieldsync::protocol {

// Fails (errc::invalid_argument) on text that is not one JSON value, or nests deeper than
// 64 levels.
boost::system::result<std::string> canonical_row_text(std::string_view json);

// Number#toString of a finite double ("1e+21", "0.000001", "1.5e-7", "-0" prints "0").
std::string js_number_text(double v);

std::uint64_t fnv1a64(std::string_view bytes) noexcept;

// The hash of one row: fnv1a64 of `[` JSON.stringify(key) `,` canonical row `]`.
std::uint64_t row_hash(std::string_view key, std::string_view canonical_row) noexcept;

class row_digest {
 public:
  void add(std::uint64_t hash) noexcept {
    sum_ += hash;  // unsigned: wraps modulo 2^64
    ++rows_;
  }
  std::uint64_t rows() const noexcept { return rows_; }
  std::uint64_t sum() const noexcept { return sum_; }
  std::string hex() const;  // 16 lower-case hex digits

 private:
  std::uint64_t sum_ = 0;
  std::uint64_t rows_ = 0;
};

}  // namespace fieldsync::protocol
