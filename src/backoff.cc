#include "backoff.h"

#include <algorithm>
#include <cmath>

namespace sse_balancer {

double BackoffDelayMs(const BackoffOptions& options, int attempt, double u) {
  const double base = std::min(
      options.max_ms,
      options.initial_ms * std::pow(options.multiplier, std::max(attempt, 0)));
  const double jittered = base * (1.0 - options.jitter * u);
  return std::max(options.min_ms, jittered);
}

}  // namespace sse_balancer
