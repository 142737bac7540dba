#pragma once
// Counter-based random numbers for deterministic parallel statistics.
// Every parallel item (a permutation, a shuffle) derives its own stream from (seed, index),
// so results do not depend on thread count or scheduling order.
#include <cstdint>
#include <utility>
#include <vector>

namespace apical::stats {

// SplitMix64 finaliser: a good 64-bit mixer, cheap, and identical on every platform.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A small sequential generator (SplitMix64 stream) seeded from (seed, item index).
class ItemRng {
 public:
  ItemRng(uint64_t seed, uint64_t item) : state_(splitmix64(seed ^ splitmix64(item + 0x5851F42D4C957F2DULL))) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform integer in [0, n), n > 0 (modulo bias is < n / 2^64, negligible here).
  uint64_t below(uint64_t n) { return next() % n; }
  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

// Fisher–Yates permutation of 0..n-1 drawn from rng (portable: no std distributions).
inline std::vector<size_t> random_permutation(size_t n, ItemRng& rng) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  for (size_t i = n; i > 1; --i) {
    size_t j = size_t(rng.below(i));
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

}  // namespace apical::stats
