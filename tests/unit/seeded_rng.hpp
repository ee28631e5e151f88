#pragma once
// A seeded generator whose output is the same with every standard library (mt19937_64 is
// fully specified; the std::uniform_*_distribution mappings are not), for the property
// tests of more than one module (the decimal in protocol/, the merges in conflicts/).

#include <cstdint>
#include <initializer_list>
#include <random>

namespace fieldsync::test {

class rng {
 public:
  explicit rng(std::uint64_t seed) : g_(seed) {}
  std::uint64_t below(std::uint64_t n) { return g_() % n; }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
    // In unsigned arithmetic: the full int64 range does not fit a signed difference.
    std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    std::uint64_t offset = span == UINT64_MAX ? g_() : below(span + 1);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset);
  }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T>
  const T& pick(std::initializer_list<T> items) {
    return items.begin()[below(items.size())];
  }

 private:
  std::mt19937_64 g_;
};

}  // namespace fieldsync::test
