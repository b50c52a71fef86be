#include "least_loaded_policy.h"

namespace sse_balancer {

std::size_t LeastLoadedPolicy::Pick(const std::vector<Endpoint>& endpoints,
                                    const std::vector<std::size_t>& eligible,
                                    Rng& rng) {
  const std::size_t n = eligible.size();
  const std::size_t a = eligible[rng.Below(n)];
  if (n == 1) return a;
  std::size_t b = eligible[rng.Below(n - 1)];
  if (b == a) b = eligible[n - 1];  // two distinct ones, uniformly
  const double la = endpoints[a].load;
  const double lb = endpoints[b].load;
  if (la < 0 || lb < 0) return a;  // a figure is missing: at random
  return lb < la ? b : a;
}

}  // namespace sse_balancer
