#include "round_robin_policy.h"

#include <algorithm>

namespace sse_balancer {

std::size_t RoundRobinPolicy::Pick(const std::vector<Endpoint>& endpoints,
                                   const std::vector<std::size_t>& eligible,
                                   Rng& rng) {
  // The first eligible index at or after `start`, wrapping around.
  const std::size_t start =
      last_ ? (*last_ + 1) % endpoints.size() : rng.Below(endpoints.size());
  auto it = std::lower_bound(eligible.begin(), eligible.end(), start);
  const std::size_t chosen = it != eligible.end() ? *it : eligible.front();
  last_ = chosen;
  return chosen;
}

}  // namespace sse_balancer
