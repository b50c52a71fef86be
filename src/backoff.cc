#include "backoff.h"

#include <algorithm>

namespace sse_balancer {

double BackoffDelayMs(const BackoffOptions& options, int attempt, double u) {
  // Repeated multiplication instead of std::pow: the same values for the
  // small exponents that occur before the cap, and several KB less Wasm.
  double base = options.initial_ms;
  for (int i = 0; i < attempt && base < options.max_ms; ++i) {
    base *= options.multiplier;
  }
  base = std::min(options.max_ms, base);
  const double jittered = base * (1.0 - options.jitter * u);
  return std::max(options.min_ms, jittered);
}

double OutageDelayMs(const BackoffOptions& options, int round, double u) {
  const double cap = std::max(options.min_ms, options.max_outage_ms);
  double base = options.initial_ms;
  for (int i = 0; i < round && base < cap; ++i) base *= options.multiplier;
  base = std::min(cap, base);
  return std::max(options.min_ms, base * OutageJitterFactor(options.jitter, u));
}

}  // namespace sse_balancer
