#include "random_policy.h"

namespace sse_balancer {

std::size_t RandomPolicy::Pick(const std::vector<Endpoint>& /*endpoints*/,
                               const std::vector<std::size_t>& eligible,
                               Rng& rng) {
  return eligible[rng.Below(eligible.size())];
}

}  // namespace sse_balancer
