// A small, seedable PRNG so every random decision is reproducible in tests.
#ifndef SSE_BALANCER_RNG_H_
#define SSE_BALANCER_RNG_H_

#include <cstddef>
#include <cstdint>

namespace sse_balancer {

/// xoshiro256** seeded through splitmix64. Not cryptographic; only used to
/// spread load and jitter.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t Next();
  /// Uniform in [0, n); n must be > 0. Unbiased (rejection sampling).
  std::size_t Below(std::size_t n);
  /// Uniform in [0, 1).
  double Uniform01();

 private:
  std::uint64_t s_[4];
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_RNG_H_
