#pragma once
// The demo generator's randomness: xoshiro256** seeded through splitmix64, and integer
// mappings written out here. The standard distributions (std::uniform_int_distribution
// and friends) are implementation-defined, so the same seed would give other data with
// another standard library; these give the same bytes everywhere.

#include <cstdint>
#include <span>

namespace fieldsync::storage {

// The splitmix64 finalizer: a bijection on 64-bit values with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class demo_random {
 public:
  // One independent stream per (seed, stream, index): every row of every table has its own,
  // so a row is a pure function of its number and rows can be made in any order.
  demo_random(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) noexcept {
    std::uint64_t sm = mix64(mix64(seed ^ (stream * 0x9e3779b97f4a7c15ull)) + index);
    for (auto& s : s_) {
      sm += 0x9e3779b97f4a7c15ull;
      s = mix64(sm);
    }
  }

  // xoshiro256** (Blackman and Vigna).
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n) for n > 0. The modulo bias is below n / 2^64: invisible in demo data.
  std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }

  // Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }

  // True with probability percent / 100.
  bool percent(unsigned percent) noexcept { return below(100) < percent; }

  // An index drawn with the given integer weights (not all zero).
  std::size_t weighted(std::span<const unsigned> weights) noexcept {
    std::uint64_t total = 0;
    for (auto w : weights) total += w;
    std::uint64_t r = below(total);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }

  template <typename T>
  const T& pick(std::span<const T> items) noexcept {
    return items[below(items.size())];
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace fieldsync::storage
